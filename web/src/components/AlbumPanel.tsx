// "All images", each album, and "Add album"; an off-canvas menu on small screens.
import { useEffect, useRef, useState } from "react";
import { Link, navigate, usePath } from "../router";
import { useAlbums } from "../state/albums";

export function AlbumPanel({ open, onClose }: { open: boolean; onClose(): void }) {
  const path = usePath();
  const { albums, error, create } = useAlbums();
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState("");
  const [formError, setFormError] = useState<string | null>(null);
  const panel = useRef<HTMLElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    panel.current?.querySelector<HTMLElement>("a")?.focus();
    return () => window.removeEventListener("keydown", onKey);
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
      <nav id="album-panel" ref={panel} className={`albums${open ? " albums-open" : ""}`} aria-label="Albums">
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
      </nav>
    </>
  );
}
