// "All images", each album, and "Add album"; an off-canvas menu on small screens.
import { useEffect, useRef, useState } from "react";
import { Link, navigate, usePath } from "../router";
import { useAlbums } from "../state/albums";
import { useSession } from "../state/session";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';

export function AlbumPanel({ open, onClose }: { open: boolean; onClose(): void }) {
  const path = usePath();
  const { albums, error, create } = useAlbums();
  const { logout } = useSession();
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState("");
  const [formError, setFormError] = useState<string | null>(null);
  const panel = useRef<HTMLElement>(null);

  // The phone menu is a modal: focus goes in, Tab stays in, Escape closes it, and focus returns to the button.
  useEffect(() => {
    if (!open) return;
    const opener = document.activeElement as HTMLElement | null;
    const node = panel.current;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        onClose();
        return;
      }
      if (e.key !== "Tab" || !node) return;
      const items = Array.from(node.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => el.offsetParent !== null || el === document.activeElement);
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      const inside = node.contains(document.activeElement);
      if (e.shiftKey && (document.activeElement === first || !inside)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
        e.preventDefault();
        first.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    node?.querySelector<HTMLElement>("a")?.focus();
    return () => {
      window.removeEventListener("keydown", onKey);
      // Back to the menu button, unless a link took the person somewhere else (focus then goes to the heading).
      if (opener && document.contains(opener) && (!document.activeElement || node?.contains(document.activeElement) || document.activeElement === document.body)) {
        opener.focus();
      }
    };
  }, [open, onClose]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setFormError("Give the album a name.");
    try {
      const album = await create(name.trim());
      setName("");
      setAdding(false);
      setFormError(null);
      onClose();
      navigate(`/albums/${album.id}`);
    } catch (err) {
      setFormError((err as Error).message);
    }
  };

  return (
    <>
      <div className={`scrim${open ? " scrim-open" : ""}`} onClick={onClose} aria-hidden="true" />
      <nav
        id="album-panel"
        ref={panel}
        className={`albums${open ? " albums-open" : ""}`}
        aria-label="Albums"
      >
        <div className="albums-head">
          <h2>Albums</h2>
          <button type="button" className="btn-icon" aria-label="Close albums menu" onClick={onClose}>
            ×
          </button>
        </div>
        <ul>
          <li>
            <Link href="/" className="album-link" aria-current={path === "/" ? "page" : undefined} onClick={onClose}>
              All images
            </Link>
          </li>
          {albums?.map((album) => (
            <li key={album.id}>
              <Link
                href={`/albums/${album.id}`}
                className="album-link"
                aria-current={path === `/albums/${album.id}` ? "page" : undefined}
                onClick={onClose}
              >
                <span className="album-name">{album.name}</span>
                <span className="count" aria-label={`${album.image_count} images`}>
                  {album.image_count}
                </span>
              </Link>
            </li>
          ))}
        </ul>
        {error && <p className="error small">{error}</p>}
        {adding ? (
          <form className="add-album" onSubmit={submit} aria-label="New album">
            <label htmlFor="new-album-name">Album name</label>
            <input
              id="new-album-name"
              value={name}
              autoFocus
              maxLength={200}
              onChange={(e) => setName(e.target.value)}
              onKeyDown={(e) => e.key === "Escape" && setAdding(false)}
            />
            {formError && <p className="error small" role="alert">{formError}</p>}
            <div className="actions">
              <button type="submit" className="btn btn-primary btn-small">
                Create album
              </button>
              <button type="button" className="btn btn-small" onClick={() => setAdding(false)}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <button type="button" className="btn btn-add" onClick={() => setAdding(true)}>
            + Add album
          </button>
        )}
        <div className="albums-account">
          <Link href="/settings" className="album-link" aria-current={path === "/settings" ? "page" : undefined} onClick={onClose}>
            Settings
          </Link>
          <button type="button" className="btn btn-small" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </nav>
    </>
  );
}
