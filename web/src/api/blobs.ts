// Authenticated images: thumbnails, originals and results need the bearer token, so they are fetched as blobs
// and shown through object URLs, shared between components and revoked a while after the last one lets go.
import { useEffect, useState } from "react";
import { ApiError, type ApiClient } from "./client";

interface Entry {
  promise: Promise<string>;
  url: string | null;
  refs: number;
  timer: ReturnType<typeof setTimeout> | null;
}

const RELEASE_DELAY_MS = 60_000;

/** GET a binary resource; a result announced by the notifier may reach the jobs service a moment later (409). */
export async function fetchWhenReady(client: ApiClient, path: string): Promise<Blob> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.blob(path);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409 || attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, 400 * (attempt + 1)));
    }
  }
}

export class BlobCache {
  private entries = new Map<string, Entry>();

  constructor(private readonly client: ApiClient) {}

  acquire(path: string): Promise<string> {
    let entry = this.entries.get(path);
    if (!entry) {
      const created: Entry = { promise: Promise.resolve(""), url: null, refs: 0, timer: null };
      created.promise = fetchWhenReady(this.client, path).then((blob) => {
        created.url = URL.createObjectURL(blob);
        return created.url;
      });
      created.promise.catch(() => this.entries.delete(path));
      this.entries.set(path, created);
      entry = created;
    }
    entry.refs += 1;
    if (entry.timer) {
      clearTimeout(entry.timer);
      entry.timer = null;
    }
    return entry.promise;
  }

  release(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    entry.timer = setTimeout(() => {
      if (entry.refs > 0) return;
      this.entries.delete(path);
      if (entry.url) URL.revokeObjectURL(entry.url);
    }, RELEASE_DELAY_MS);
  }

  clear(): void {
    for (const entry of this.entries.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      if (entry.url) URL.revokeObjectURL(entry.url);
    }
    this.entries.clear();
  }
}

export interface BlobState {
  url: string | null;
  error: boolean;
}

/** The object URL of an authenticated image, or null while it loads (or when path is null). */
export function useAuthBlob(cache: BlobCache, path: string | null): BlobState {
  const [state, setState] = useState<BlobState & { path: string | null }>({ url: null, error: false, path: null });
  useEffect(() => {
    if (!path) return;
    let live = true;
    cache.acquire(path).then(
      (url) => live && setState({ url, error: false, path }),
      () => live && setState({ url: null, error: true, path }),
    );
    return () => {
      live = false;
      cache.release(path);
    };
  }, [cache, path]);
  return state.path === path ? state : { url: null, error: false };
}
