// The signed-in person's albums, shared by the album panel and the gallery.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import type { Album, Page } from "../api/types";
import { useSession } from "./session";

interface Albums {
  albums: Album[] | null;
  error: string | null;
  reload(): Promise<void>;
  create(name: string): Promise<Album>;
  rename(id: string, name: string): Promise<void>;
  remove(id: string): Promise<void>;
}

const AlbumsContext = createContext<Albums | null>(null);

export function AlbumsProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const [albums, setAlbums] = useState<Album[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const items: Album[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<Album> = await client.get<Page<Album>>(
          `/api/albums${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        items.push(...page.items);
        cursor = page.next_cursor ?? null;
      } while (cursor);
      setAlbums(items);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [client]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const value = useMemo<Albums>(
    () => ({
      albums,
      error,
      reload,
      async create(name) {
        const album = await client.post<Album>("/api/albums", { name });
        setAlbums((list) => [...(list ?? []), album]);
        return album;
      },
      async rename(id, name) {
        const album = await client.patch<Album>(`/api/albums/${id}`, { name });
        setAlbums((list) => (list ?? []).map((a) => (a.id === id ? { ...a, ...album, name } : a)));
      },
      async remove(id) {
        await client.delete(`/api/albums/${id}`);
        setAlbums((list) => (list ?? []).filter((a) => a.id !== id));
      },
    }),
    [albums, error, reload, client],
  );
  return <AlbumsContext.Provider value={value}>{children}</AlbumsContext.Provider>;
}

export function useAlbums(): Albums {
  const albums = useContext(AlbumsContext);
  if (!albums) throw new Error("useAlbums outside AlbumsProvider");
  return albums;
}
