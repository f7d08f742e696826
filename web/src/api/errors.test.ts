import { afterEach, describe, expect, it, vi } from "vitest";
import { json, scriptedFetch, storeTokens } from "../test/fakes";
import { ApiClient, ApiError, parseRetryAfter, tokenSubject } from "./client";

afterEach(() => vi.useRealTimers());

function html(status: number) {
  return new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", { status, headers: { "Content-Type": "text/html" } });
}

describe("errors that say what happened and what to do", () => {
  it("turns a proxy's HTML page into a message, after retrying the read", async () => {
    storeTokens();
    const { fetch, calls } = scriptedFetch(() => html(502));
    const client = new ApiClient(window.localStorage, fetch);
    vi.useFakeTimers();
    const result = client.get("/api/images").catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = (await result) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toMatch(/not answering \(502\).*Try again/);
    expect(error.message).not.toMatch(/Unexpected token/);
    expect(calls).toHaveLength(4);
  });

  it("retries a 503 after its Retry-After, then succeeds", async () => {
    storeTokens();
    let n = 0;
    const { fetch, calls } = scriptedFetch(() =>
      n++ < 2 ? new Response(null, { status: 503, headers: { "Retry-After": "2" } }) : json(200, { ok: true }),
    );
    const client = new ApiClient(window.localStorage, fetch);
    vi.useFakeTimers();
    const result = client.get("/api/albums");
    await vi.advanceTimersByTimeAsync(1900);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2200);
    expect(calls).toHaveLength(3);
    await expect(result).resolves.toEqual({ ok: true });
  });

  it("retries a POST only when it carries an Idempotency-Key, sending the same key", async () => {
    storeTokens();
    let n = 0;
    const { fetch, calls } = scriptedFetch((url) =>
      ++n <= 2 ? json(429, { error: { code: "rate_limited", message: "Slow down." } }) : json(202, { id: "j1", url }),
    );
    const client = new ApiClient(window.localStorage, fetch);
    vi.useFakeTimers();
    const plain = client.post("/api/albums", { name: "x" }).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(((await plain) as ApiError).status).toBe(429);
    expect(calls).toHaveLength(1);

    const keyed = client.post("/api/jobs", { image_id: "i" }, { "Idempotency-Key": "k-1" });
    await vi.runAllTimersAsync();
    await expect(keyed).resolves.toMatchObject({ id: "j1" });
    expect(calls.slice(1).map((c) => c.headers["Idempotency-Key"])).toEqual(["k-1", "k-1"]);
  });

  it("explains 429 without a message of its own, with the wait", async () => {
    storeTokens();
    const { fetch } = scriptedFetch(() => new Response(null, { status: 429, headers: { "Retry-After": "30" } }));
    const client = new ApiClient(window.localStorage, fetch);
    const error = (await client.delete("/api/albums/a").catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe("Too many requests at once. Try again in 30 s.");
    expect(error.retryAfter).toBe(30);
  });

  it("stops waiting when the request is no longer needed", async () => {
    storeTokens();
    const { fetch, calls } = scriptedFetch(() => new Response(null, { status: 503, headers: { "Retry-After": "5" } }));
    const client = new ApiClient(window.localStorage, fetch);
    const abort = new AbortController();
    const result = client.get("/api/images", abort.signal).catch((e: Error) => e.name);
    await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    expect(await result).toBe("AbortError");
    expect(calls).toHaveLength(1);
  });

  it("reads Retry-After as seconds or a date, and a token's subject", () => {
    expect(parseRetryAfter("3")).toBe(3);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8);
    const payload = btoa(JSON.stringify({ sub: "user-7" })).replace(/=+$/, "");
    expect(tokenSubject(`h.${payload}.s`)).toBe("user-7");
    expect(tokenSubject("not-a-jwt")).toBeNull();
  });
});
