// "All images" or one album: the drop zone, the grid and the album's own actions. Uploads go through the
// page-wide queue (state/uploads.tsx); what was loaded and the scroll position survive going to an image and back.
import { useCallback, useEffect, useRef, useState } from "react";
import { isAbort } from "../api/client";
import type { ImageItem, Page } from "../api/types";
import { ApplyToAlbum } from "../components/ApplyToAlbum";
import { DropZone } from "../components/DropZone";
import { ImageGrid } from "../components/ImageGrid";
import { navigate } from "../router";
import { useAlbums } from "../state/albums";
import { useGalleryCache } from "../state/gallery";
import { useSession } from "../state/session";
import { useUploadQueue } from "../state/uploads";
import { useTitle } from "../useTitle";

const PAGE_SIZE = 60;

export function GalleryPage({ albumId }: { albumId: string | null }) {
  const { client } = useSession();
  const albumsState = useAlbums();
  const queue = useUploadQueue();
  const cache = useGalleryCache();
  const key = albumId ?? "all";
  const album = albumId ? albumsState.albums?.find((a) => a.id === albumId) : undefined;
  const [cached] = useState(() => cache.get(key));
  const [images, setImages] = useState<ImageItem[]>(cached?.images ?? []);
  const [cursor, setCursor] = useState<string | null>(cached?.cursor ?? null);
  const [loaded, setLoaded] = useState(cached?.loaded ?? false);
  const [loading, setLoading] = useState(!cached?.loaded);
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<"view" | "rename" | "delete" | "apply">("view");
  const scrollY = useRef(cached?.scrollY ?? 0);
  const request = useRef<AbortController | null>(null);

  const load = useCallback(
    async (from: string | null) => {
      if (request.current && from) return;
      request.current?.abort();
      const controller = new AbortController();
      request.current = controller;
      setLoading(true);
      try {
        const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
        if (albumId) query.set("album_id", albumId);
        if (from) query.set("cursor", from);
        const page = await client.get<Page<ImageItem>>(`/api/images?${query}`, controller.signal);
        setImages((list) => {
          const base = from ? list : [];
          const seen = new Set(base.map((i) => i.id));
          return [...base, ...page.items.filter((i) => !seen.has(i.id))];
        });
        setCursor(page.next_cursor ?? null);
        setLoaded(true);
        setError(null);
      } catch (e) {
        if (!isAbort(e)) setError(`The photos could not be loaded: ${(e as Error).message}`);
      } finally {
        if (request.current === controller) {
          request.current = null;
          setLoading(false);
        }
      }
    },
    [client, albumId],
  );

  // The first page, unless this gallery was loaded before; nothing is left running when the page goes.
  useEffect(() => {
    if (!cached?.loaded) void load(null);
    return () => request.current?.abort();
  }, [load, cached]);

  // Remember what is loaded and where the page is scrolled, for coming back.
  useEffect(() => {
    cache.set(key, { images, cursor, loaded, scrollY: scrollY.current });
  }, [cache, key, images, cursor, loaded]);
  useEffect(() => {
    let frame = 0;
    const onScroll = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        scrollY.current = window.scrollY;
        const state = cache.get(key);
        if (state) state.scrollY = window.scrollY;
      });
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener("scroll", onScroll);
    };
  }, [cache, key]);

  const reloadAlbums = albumsState.reload;
  useEffect(
    () =>
      queue.onUploaded((added) => {
        setImages((list) => {
          const fresh = added.filter((i) => !list.some((x) => x.id === i.id) && (!albumId || i.album_id === albumId));
          return fresh.length ? [...fresh, ...list] : list;
        });
        void reloadAlbums();
      }),
    [queue, albumId, reloadAlbums],
  );

  const title = albumId ? album?.name ?? "Album" : "All images";
  useTitle(title);
  const onLoadMore = useCallback(() => {
    if (cursor) void load(cursor);
  }, [cursor, load]);

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
            cache.forget(album.id);
            navigate("/", { replace: true });
          }}
          onCancel={() => setMode("view")}
        />
      )}
      {albumId && album && mode === "apply" && (
        <ApplyToAlbum albumId={album.id} albumName={album.name} onClose={() => setMode("view")} />
      )}
      <DropZone onFiles={(files) => queue.add(files, albumId)} compact={images.length > 0} />
      {error && (
        <p className="error" role="alert">
          {error}{" "}
          <button type="button" className="btn-link" onClick={() => void load(loaded ? cursor : null)}>
            Try again
          </button>
        </p>
      )}
      {loaded && !loading && !error && images.length === 0 && (
        <p className="empty">No images here yet. Add some with the box above.</p>
      )}
      <ImageGrid
        images={images}
        hasMore={cursor !== null}
        loading={loading}
        onLoadMore={onLoadMore}
        restoreScrollY={cached?.scrollY ?? null}
        total={album?.image_count}
      />
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
