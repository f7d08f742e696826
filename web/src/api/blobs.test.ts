import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BlobCache } from "./blobs";
import type { ApiClient } from "./client";

/** A client whose blob() answers when the test says, and records aborts. */
function fakeClient() {
  const pending = new Map<string, { resolve(b: Blob): void; signal?: AbortSignal }>();
  const blob = vi.fn(
    (path: string, signal?: AbortSignal) =>
      new Promise<Blob>((resolve, reject) => {
        pending.set(path, { resolve, signal });
        signal?.addEventListener("abort", () => reject(new DOMException("Aborted", "AbortError")));
      }),
  );
  return { client: { blob } as unknown as ApiClient, blob, pending };
}

let urls = 0;
const revoked: string[] = [];
beforeEach(() => {
  urls = 0;
  revoked.length = 0;
  URL.createObjectURL = vi.fn(() => `blob:${++urls}`);
  URL.revokeObjectURL = vi.fn((url: string) => void revoked.push(url));
});
afterEach(() => vi.useRealTimers());

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("BlobCache", () => {
  it("shares one request per image between the components showing it", async () => {
    const { client, blob, pending } = fakeClient();
    const cache = new BlobCache(client);
    const a = cache.acquire("/t/1");
    const b = cache.acquire("/t/1");
    expect(blob).toHaveBeenCalledTimes(1);
    pending.get("/t/1")!.resolve(new Blob(["x"]));
    expect(await a).toBe("blob:1");
    expect(await b).toBe("blob:1");
  });

  it("aborts the request of an image scrolled past before it arrived", async () => {
    const { client, pending } = fakeClient();
    const cache = new BlobCache(client);
    const shown = cache.acquire("/t/1");
    cache.release("/t/1");
    await tick();
    expect(pending.get("/t/1")!.signal!.aborted).toBe(true);
    await expect(shown).rejects.toThrow(/Abort/);
    expect(cache.size.entries).toBe(0);
  });

  it("keeps a component that re-mounts at once from aborting its own image", async () => {
    const { client, blob, pending } = fakeClient();
    const cache = new BlobCache(client);
    void cache.acquire("/t/1");
    cache.release("/t/1");
    const again = cache.acquire("/t/1");
    await tick();
    expect(pending.get("/t/1")!.signal!.aborted).toBe(false);
    pending.get("/t/1")!.resolve(new Blob(["x"]));
    expect(await again).toBe("blob:1");
    expect(blob).toHaveBeenCalledTimes(1);
  });

  it("keeps at most maxEntries unused images, dropping and revoking the least recently used", async () => {
    const { client, pending } = fakeClient();
    const cache = new BlobCache(client, { maxEntries: 3, maxBytes: 1e9 });
    for (let i = 1; i <= 6; i++) {
      const url = cache.acquire(`/t/${i}`);
      pending.get(`/t/${i}`)!.resolve(new Blob(["xx"]));
      await url;
      cache.release(`/t/${i}`);
      await tick();
    }
    expect(cache.size.entries).toBe(3);
    expect(revoked).toEqual(["blob:1", "blob:2", "blob:3"]);
    // Used again, an image becomes the most recent: the next one to go is another.
    void cache.acquire("/t/4");
    cache.release("/t/4");
    const url = cache.acquire("/t/7");
    pending.get("/t/7")!.resolve(new Blob(["xx"]));
    await url;
    cache.release("/t/7");
    await tick();
    expect(revoked).toEqual(["blob:1", "blob:2", "blob:3", "blob:5"]);
  });

  it("never revokes an image still on screen, and bounds the bytes kept", async () => {
    const { client, pending } = fakeClient();
    const cache = new BlobCache(client, { maxEntries: 100, maxBytes: 10 });
    const held = cache.acquire("/big/held");
    pending.get("/big/held")!.resolve(new Blob(["x".repeat(8)]));
    await held;
    for (const name of ["a", "b"]) {
      const url = cache.acquire(`/big/${name}`);
      pending.get(`/big/${name}`)!.resolve(new Blob(["x".repeat(8)]));
      await url;
      cache.release(`/big/${name}`);
      await tick();
    }
    expect(revoked).toEqual(["blob:2"]);
    expect(revoked).not.toContain("blob:1");
    cache.clear();
    expect(revoked.sort()).toEqual(["blob:1", "blob:2", "blob:3"]);
  });
});
