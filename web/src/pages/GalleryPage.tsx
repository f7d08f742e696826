// "All images" or one album: the drop zone, uploads, the grid and the album's own actions.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ImageItem, Page } from "../api/types";
import { ApplyToAlbum } from "../components/ApplyToAlbum";
import { DropZone } from "../components/DropZone";
import { ImageGrid } from "../components/ImageGrid";
import { UploadList, useUploads } from "../components/Uploads";
import { navigate } from "../router";
import { useAlbums } from "../state/albums";
import { useSession } from "../state/session";
import { useTitle } from "../useTitle";

const PAGE_SIZE = 40;

export function GalleryPage({ albumId }: { albumId: string | null }) {
  const { client } = useSession();
  const albumsState = useAlbums();
  const album = albumId ? albumsState.albums?.find((a) => a.id === albumId) : undefined;
  const [images, setImages] = useState<ImageItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<"view" | "rename" | "delete" | "apply">("view");
  const loadingRef = useRef(false);
  const generation = useRef(0);

  const load = useCallback(
    async (from: string | null) => {
      if (loadingRef.current && from) return;
      const gen = generation.current;
      loadingRef.current = true;
      setLoading(true);
      try {
        const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
        if (albumId) query.set("album_id", albumId);
        if (from) query.set("cursor", from);
        const page = await client.get<Page<ImageItem>>(`/api/images?${query}`);
        if (gen !== generation.current) return;
        setImages((list) => {
          const seen = new Set(list.map((i) => i.id));
          return [...(from ? list : []), ...page.items.filter((i) => !from || !seen.has(i.id))];
        });
        setCursor(page.next_cursor ?? null);
        setError(null);
      } catch (e) {
        if (gen === generation.current) setError((e as Error).message);
      } finally {
        if (gen === generation.current) {
          loadingRef.current = false;
          setLoading(false);
        }
      }
    },
    [client, albumId],
  );

  useEffect(() => {
    generation.current += 1;
    loadingRef.current = false;
    setImages([]);
    setCursor(null);
    setMode("view");
    void load(null);
  }, [load]);

  const reloadAlbums = albumsState.reload;
  const onUploaded = useCallback(
    (added: ImageItem[]) => {
      setImages((list) => {
        const fresh = added.filter((i) => !list.some((x) => x.id === i.id) && (!albumId || i.album_id === albumId));
        return [...fresh, ...list];
      });
      void reloadAlbums();
    },
    [albumId, reloadAlbums],
  );
  const uploads = useUploads(client, onUploaded);

  const title = albumId ? album?.name ?? "Album" : "All images";
  useTitle(title);

  return (
    <div className="page gallery">
      <header className="page-head">
        <h1>{title}</h1>
        {albumId && album && mode === "view" && (
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={() => setMode("apply")} disabled={!images.length}>
              Apply to whole album
            </button>
            <button type="button" className="btn" onClick={() => setMode("rename")}>
              Rename album
            </button>
            <button type="button" className="btn btn-danger-quiet" onClick={() => setMode("delete")}>
              Delete album
            </button>
          </div>
        )}
      </header>
      {albumId && album && mode === "rename" && (
        <RenameAlbum
          name={album.name}
          onSave={async (name) => {
            await albumsState.rename(album.id, name);
            setMode("view");
          }}
          onCancel={() => setMode("view")}
        />
      )}
      {albumId && album && mode === "delete" && (
        <ConfirmDelete
          name={album.name}
          onConfirm={async () => {
            await albumsState.remove(album.id);
            navigate("/", { replace: true });
          }}
          onCancel={() => setMode("view")}
        />
      )}
      {albumId && album && mode === "apply" && (
        <ApplyToAlbum albumId={album.id} albumName={album.name} onClose={() => setMode("view")} />
      )}
      <DropZone onFiles={(files) => uploads.add(files, albumId)} compact={images.length > 0} />
      <UploadList items={uploads.items} onClear={uploads.clear} />
      {error && (
        <p className="error" role="alert">
          {error}{" "}
          <button type="button" className="btn-link" onClick={() => load(cursor)}>
            Try again
          </button>
        </p>
      )}
      {!loading && !error && images.length === 0 && (
        <p className="empty">No images here yet. Add some with the box above.</p>
      )}
      <ImageGrid images={images} hasMore={cursor !== null} loading={loading} onLoadMore={() => cursor && load(cursor)} />
    </div>
  );
}

function RenameAlbum({ name, onSave, onCancel }: { name: string; onSave(name: string): Promise<void>; onCancel(): void }) {
  const [value, setValue] = useState(name);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="panel inline-form"
      aria-label="Rename album"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!value.trim()) return setError("Give the album a name.");
        setBusy(true);
        try {
          await onSave(value.trim());
        } catch (err) {
          setError((err as Error).message);
          setBusy(false);
        }
      }}
    >
      <label htmlFor="rename-album">New album name</label>
      <input id="rename-album" value={value} onChange={(e) => setValue(e.target.value)} autoFocus maxLength={200} />
      <button type="submit" className="btn btn-primary" disabled={busy}>
        Save name
      </button>
      <button type="button" className="btn" onClick={onCancel}>
        Cancel
      </button>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}

function ConfirmDelete({ name, onConfirm, onCancel }: { name: string; onConfirm(): Promise<void>; onCancel(): void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="panel confirm" role="alertdialog" aria-label="Delete album" aria-describedby="delete-album-text">
      <p id="delete-album-text">
        Delete the album “{name}”? This cannot be undone.
      </p>
      <div className="actions">
        <button
          type="button"
          className="btn btn-danger"
          autoFocus
          onClick={() => onConfirm().catch((e: Error) => setError(e.message))}
        >
          Yes, delete album
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Keep it
        </button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </div>
  );
}
