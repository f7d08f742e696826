// Test doubles: a scripted fetch and a controllable WebSocket.
import { vi } from "vitest";

export type Route = (url: string, init: RequestInit) => Response | undefined | Promise<Response | undefined>;

export function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

/** A fetch that answers from the first route returning a Response and records every call. */
export function scriptedFetch(...routes: Route[]) {
  const calls: { url: string; method: string; headers: Record<string, string>; body: unknown }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url, method: init.method ?? "GET", headers, body: init.body ? JSON.parse(String(init.body)) : undefined });
    for (const route of routes) {
      const response = await route(url, init);
      if (response) return response;
    }
    return json(404, { error: { code: "not_found", message: `no route for ${url}` } });
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

export class FakeSocket {
  static instances: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  send(data: string) {
    this.sent.push(data);
  }

  close() {
    this.closed = true;
  }

  // Test-side controls.
  open() {
    this.onopen?.();
  }

  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  drop() {
    this.closed = true;
    this.onclose?.();
  }
}

export function storeTokens(access = "access-1", refresh = "refresh-1", ttlSeconds = 900) {
  window.localStorage.setItem(
    "renovo.tokens",
    JSON.stringify({ access_token: access, refresh_token: refresh, expires_at: Date.now() + ttlSeconds * 1000 }),
  );
}
