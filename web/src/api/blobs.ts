// Authenticated images: thumbnails, previews, originals and results need the bearer token, so they are fetched
// as blobs and shown through object URLs.
//
// Memory is bounded: object URLs pin their blobs until revoked, so the cache keeps at most `maxEntries` images
// (and `maxBytes`) that nobody shows, least recently used first out, and revokes what it drops. An image
// scrolled past before it arrived has its request aborted. (Cookie-authenticated or signed URLs would let the
// browser's own cache do this, but they would put credentials into URLs or need CSRF protection on every
// route; bearer tokens plus a capped cache keep the API as it is.)
import { useEffect, useState } from "react";
import { ApiError, isAbort, type ApiClient } from "./client";

interface Entry {
  promise: Promise<string>;
  url: string | null;
  bytes: number;
  refs: number;
  controller: AbortController;
}

export interface BlobCacheLimits {
  /** Images kept while unused (thumbnails scrolled past), beyond those on screen. */
  maxEntries: number;
  /** Bytes kept while unused. */
  maxBytes: number;
}

const DEFAULT_LIMITS: BlobCacheLimits = { maxEntries: 240, maxBytes: 64 * 1024 * 1024 };

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new DOMException("Aborted", "AbortError"));
      },
      { once: true },
    );
  });
}

/** GET a binary resource; a result announced by the notifier may reach the jobs service a moment later (409). */
export async function fetchWhenReady(client: ApiClient, path: string, signal?: AbortSignal): Promise<Blob> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.blob(path, signal);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409 || attempt >= 8) throw error;
      await delay(400 * (attempt + 1), signal);
    }
  }
}

export class BlobCache {
  /** Insertion order is recency: the first unused entries are the first to go. */
  private entries = new Map<string, Entry>();
  private readonly limits: BlobCacheLimits;

  constructor(
    private readonly client: ApiClient,
    limits: Partial<BlobCacheLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** How many images are held (in use or kept), and their bytes. */
  get size(): { entries: number; bytes: number } {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += e.bytes;
    return { entries: this.entries.size, bytes };
  }

  acquire(path: string): Promise<string> {
    let entry = this.entries.get(path);
    if (entry) {
      this.entries.delete(path); // most recently used now
    } else {
      const controller = new AbortController();
      const created: Entry = { promise: Promise.resolve(""), url: null, bytes: 0, refs: 0, controller };
      created.promise = fetchWhenReady(this.client, path, controller.signal).then((blob) => {
        if (this.entries.get(path) !== created) throw new DOMException("Aborted", "AbortError");
        created.url = URL.createObjectURL(blob);
        created.bytes = blob.size;
        this.evict();
        return created.url;
      });
      created.promise.catch(() => {
        if (this.entries.get(path) === created) this.entries.delete(path);
      });
      entry = created;
    }
    this.entries.set(path, entry);
    entry.refs += 1;
    return entry.promise;
  }

  release(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    // Let a component that re-mounts at once (a re-render, React's strict mode) take it back first.
    setTimeout(() => {
      if (entry.refs > 0 || this.entries.get(path) !== entry) return;
      if (entry.url === null) {
        // Scrolled past before it arrived: stop downloading it.
        this.entries.delete(path);
        entry.controller.abort();
      } else {
        this.evict();
      }
    }, 0);
  }

  /** Drop unused images, oldest first, until the unused ones fit the limits. */
  private evict(): void {
    let count = 0;
    let bytes = 0;
    for (const e of this.entries.values()) {
      if (e.refs <= 0 && e.url) {
        count += 1;
        bytes += e.bytes;
      }
    }
    for (const [path, e] of this.entries) {
      if (count <= this.limits.maxEntries && bytes <= this.limits.maxBytes) break;
      if (e.refs > 0 || !e.url) continue;
      this.entries.delete(path);
      URL.revokeObjectURL(e.url);
      count -= 1;
      bytes -= e.bytes;
    }
  }

  clear(): void {
    for (const entry of this.entries.values()) {
      entry.controller.abort();
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
      (error: unknown) => live && !isAbort(error) && setState({ url: null, error: true, path }),
    );
    return () => {
      live = false;
      cache.release(path);
    };
  }, [cache, path]);
  return state.path === path ? state : { url: null, error: false };
}
