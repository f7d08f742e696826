// Test setup through the HTTP API (fast, no clicking): accounts, albums, bulk uploads, jobs.
import type { Page } from "@playwright/test";
import { makePng, uniqueEmail } from "./helpers";

export const PASSWORD = "correct horse battery staple";

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface ApiUser {
  email: string;
  tokens: Tokens;
}

export function baseUrl(): string {
  return process.env.RENOVO_E2E_URL ?? "http://127.0.0.1:8080";
}

async function call<T>(method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`${baseUrl()}${path}`, { method, headers: h, body: payload });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function createUser(prefix: string, displayName?: string): Promise<ApiUser> {
  const email = uniqueEmail(prefix);
  const body: Record<string, string> = { email, password: PASSWORD };
  if (displayName) body.display_name = displayName;
  await call("POST", "/api/auth/register", null, body);
  const tokens = await call<Tokens>("POST", "/api/auth/login", null, { email, password: PASSWORD });
  return { email, tokens };
}

/** A new session of an account (a login elsewhere). */
export async function login(email: string): Promise<Tokens> {
  return call<Tokens>("POST", "/api/auth/login", null, { email, password: PASSWORD });
}

/** Put the account's tokens where the app keeps them, then open `path`. */
export async function openAs(page: Page, user: ApiUser, path: string): Promise<void> {
  await page.goto("/login");
  await page.evaluate((t) => {
    localStorage.setItem(
      "renovo.tokens",
      JSON.stringify({ access_token: t.access_token, refresh_token: t.refresh_token, expires_at: Date.now() + t.expires_in * 1000 }),
    );
  }, user.tokens);
  await page.goto(path);
}

export async function createAlbum(user: ApiUser, name: string): Promise<{ id: string }> {
  return call("POST", "/api/albums", user.tokens.access_token, { name });
}

export interface ImageRow {
  id: string;
  filename: string;
  storage_key: string;
}

/** Upload `count` generated PNGs into an album in multipart batches, a few requests at once. */
export async function bulkUpload(
  user: ApiUser,
  albumId: string | null,
  count: number,
  size = [64, 48],
  options: { alpha?: boolean; variants?: number } = {},
): Promise<ImageRow[]> {
  const variants = Array.from({ length: options.variants ?? 8 }, (_, i) => makePng(size[0], size[1], i, options.alpha));
  const perRequest = 100;
  const batches: number[][] = [];
  for (let start = 0; start < count; start += perRequest) {
    batches.push(Array.from({ length: Math.min(perRequest, count - start) }, (_, i) => start + i));
  }
  const out: ImageRow[] = [];
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const form = new FormData();
      if (albumId) form.append("album_id", albumId);
      for (const n of batch) {
        form.append("file", new Blob([new Uint8Array(variants[n % variants.length])], { type: "image/png" }), `photo-${String(n).padStart(4, "0")}.png`);
      }
      const result = await call<{ images: ImageRow[] }>("POST", "/api/images", user.tokens.access_token, form);
      out.push(...result.images);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return out;
}

/** Every image of an album in the order the gallery shows them (newest first), read page by page. */
export async function listAlbumImages(user: ApiUser, albumId: string): Promise<ImageRow[]> {
  const out: ImageRow[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ album_id: albumId, limit: "200" });
    if (cursor) query.set("cursor", cursor);
    const page: { items: ImageRow[]; next_cursor: string | null } = await call("GET", `/api/images?${query}`, user.tokens.access_token);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

export interface JobRow {
  id: string;
  status: string;
  attempt: number;
  updated_at: string;
  progress: number;
}

export async function createJob(
  user: ApiUser,
  imageId: string,
  type = "none",
  options: Record<string, unknown> = {},
  output?: Record<string, unknown>,
): Promise<JobRow> {
  return call("POST", "/api/jobs", user.tokens.access_token, { image_id: imageId, type, options, ...(output ? { output } : {}) }, {
    "Idempotency-Key": crypto.randomUUID(),
  });
}

export async function getJob(user: ApiUser, id: string): Promise<JobRow> {
  return call("GET", `/api/jobs/${id}`, user.tokens.access_token);
}

export async function waitJob(user: ApiUser, id: string, until: (job: JobRow) => boolean, timeoutMs = 60_000): Promise<JobRow> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(user, id);
    if (until(job)) return job;
    if (Date.now() > end) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
