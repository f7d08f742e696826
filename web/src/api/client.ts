// The HTTP client: bearer tokens kept across reloads, one refresh on 401 (shared by concurrent requests and
// coordinated between tabs, since refresh tokens rotate), and errors turned into ApiError with the server's message.
import type { Tokens, UploadResult } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds the server asked to wait (Retry-After), when it said. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Answers worth asking again after a pause: rate limited, overloaded or restarting. */
const RETRYABLE = new Set([429, 502, 503, 504]);
const MAX_RETRIES = 3;
const MAX_WAIT_MS = 10_000;

/** The pause before retry `attempt` (0-based): the server's Retry-After when given, else jittered exponential. */
export function retryDelay(attempt: number, retryAfter: number | null): number {
  if (retryAfter !== null) return Math.min(MAX_WAIT_MS, Math.max(0, retryAfter * 1000));
  const base = Math.min(MAX_WAIT_MS, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException("Aborted", "AbortError"));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function isAbort(error: unknown): boolean {
  return (error as Error | null)?.name === "AbortError";
}

export interface StoredTokens {
  access_token: string;
  refresh_token: string;
  /** Epoch milliseconds after which the access token is expired. */
  expires_at: number;
}

export const TOKENS_KEY = "renovo.tokens";
const REFRESH_LOCK = "renovo.refresh";
const EXPIRY_MARGIN_MS = 30_000;

type Listener = (tokens: StoredTokens | null) => void;

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send no Authorization header and never refresh (login, register). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export class ApiClient {
  private tokens: StoredTokens | null;
  private listeners = new Set<Listener>();
  private refreshing: Promise<boolean> | null = null;

  constructor(
    private readonly storage: Storage = window.localStorage,
    private readonly fetchFn: typeof fetch = (...args) => window.fetch(...args),
    private readonly baseUrl = "",
  ) {
    this.tokens = this.readStored();
    if (typeof window !== "undefined") {
      // Another tab logged in, refreshed or logged out.
      window.addEventListener("storage", (event) => {
        if (event.key !== TOKENS_KEY) return;
        this.tokens = this.readStored();
        this.emit();
      });
    }
  }

  get isLoggedIn(): boolean {
    return this.tokens !== null;
  }

  /** Whose session this is (the access token's subject), to notice another tab signing in as someone else. */
  get subject(): string | null {
    return tokenSubject(this.tokens?.access_token ?? null);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setTokens(tokens: Tokens | null): void {
    this.store(
      tokens && {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: Date.now() + tokens.expires_in * 1000,
      },
    );
  }

  async login(email: string, password: string): Promise<void> {
    const tokens = await this.request<Tokens>("POST", "/api/auth/login", { body: { email, password }, anonymous: true });
    this.setTokens(tokens);
  }

  async logout(): Promise<void> {
    const refresh = this.tokens?.refresh_token;
    this.store(null);
    if (refresh) {
      try {
        await this.request("POST", "/api/auth/logout", { body: { refresh_token: refresh }, anonymous: true });
      } catch {
        // The local session is gone either way; a stale refresh token simply expires.
      }
    }
  }

  /** A valid access token (refreshed first when about to expire), or null when logged out. */
  async accessToken(): Promise<string | null> {
    if (!this.tokens) return null;
    if (this.tokens.expires_at - EXPIRY_MARGIN_MS < Date.now()) {
      await this.refresh(this.tokens.access_token);
    }
    return this.tokens?.access_token ?? null;
  }

  /** Replace an access token the server refused elsewhere (the WebSocket); false when the session is over. */
  renew(refusedAccess: string): Promise<boolean> {
    return this.refresh(refusedAccess);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { signal });
  }

  post<T>(path: string, body?: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<T> {
    return this.request<T>("POST", path, { body, headers, signal });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body });
  }

  delete<T = void>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // A proxy's HTML page instead of the API's JSON.
      throw new ApiError(response.status, "bad_response", "Renovo answered with something unexpected. Reload the page; if it keeps happening, the server may be misconfigured.");
    }
  }

  /** GET a binary resource (thumbnail, original, result) with the bearer token. */
  async blob(path: string, signal?: AbortSignal): Promise<Blob> {
    const response = await this.send("GET", path, { signal });
    return response.blob();
  }

  /** Upload one file with progress; one request per file so each has its own progress. Abortable. */
  async upload(
    file: File,
    albumId: string | null,
    onProgress: (fraction: number) => void,
    signal?: AbortSignal,
  ): Promise<UploadResult> {
    const attempt = async (): Promise<{ status: number; body: string; retryAfter: string | null }> => {
      const token = await this.accessToken();
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(new DOMException("Aborted", "AbortError"));
        const xhr = new XMLHttpRequest();
        signal?.addEventListener("abort", () => xhr.abort(), { once: true });
        xhr.onabort = () => reject(new DOMException("Aborted", "AbortError"));
        xhr.open("POST", `${this.baseUrl}/api/images`);
        if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        };
        xhr.onload = () =>
          resolve({ status: xhr.status, body: xhr.responseText, retryAfter: xhr.getResponseHeader("Retry-After") });
        xhr.onerror = () => reject(new ApiError(0, "network", "The upload was interrupted. Check your connection."));
        const form = new FormData();
        if (albumId) form.append("album_id", albumId);
        form.append("file", file, file.name);
        xhr.send(form);
      });
    };
    let result = await attempt();
    if (result.status === 401 && this.tokens && (await this.refresh(this.tokens.access_token))) {
      result = await attempt();
    }
    if (result.status === 401) this.store(null);
    let body: unknown = null;
    try {
      body = result.body ? JSON.parse(result.body) : {};
    } catch {
      body = null;
    }
    if (result.status >= 400 || body === null) {
      throw toApiError(result.status >= 400 ? result.status : 502, body, parseRetryAfter(result.retryAfter));
    }
    return body as UploadResult;
  }

  /**
   * One request, retried on 429/502/503/504 after the server's Retry-After (or a jittered back-off) where that is
   * safe: reads, and writes that carry an Idempotency-Key (the server answers a replay with the first result).
   */
  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const safe = method === "GET" || method === "HEAD" || Boolean(options.headers?.["Idempotency-Key"]);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendOnce(method, path, options);
      } catch (error) {
        if (!(error instanceof ApiError) || !safe || attempt >= MAX_RETRIES) throw error;
        const gateway = error.status === 502 || error.status === 504;
        if (!RETRYABLE.has(error.status) || (gateway && method !== "GET")) throw error;
        await sleep(retryDelay(attempt, error.retryAfter), options.signal);
      }
    }
  }

  private async sendOnce(method: string, path: string, options: RequestOptions): Promise<Response> {
    const usedToken = options.anonymous ? null : this.tokens?.access_token ?? null;
    let response = await this.fetchOnce(method, path, options, usedToken);
    if (response.status === 401 && usedToken) {
      if (await this.refresh(usedToken)) {
        response = await this.fetchOnce(method, path, options, this.tokens?.access_token ?? null);
      }
      if (response.status === 401) this.store(null);
    }
    if (!response.ok) {
      let body: unknown = null;
      try {
        body = await response.json();
      } catch {
        body = null; // an HTML error page from a proxy
      }
      throw toApiError(response.status, body, parseRetryAfter(response.headers.get("Retry-After")));
    }
    return response;
  }

  private async fetchOnce(
    method: string,
    path: string,
    options: RequestOptions,
    token: string | null,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: BodyInit | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    try {
      return await this.fetchFn(`${this.baseUrl}${path}`, { method, headers, body, signal: options.signal });
    } catch (error) {
      if ((error as Error).name === "AbortError") throw error;
      throw new ApiError(0, "network", "Cannot reach Renovo. Check your connection and try again.");
    }
  }

  /**
   * Replace the access token that just failed. Returns false (and logs out) when the session is over.
   * One refresh at a time in this tab; across tabs a Web Lock serializes them, and a tab that finds the
   * stored tokens already replaced by another tab adopts them instead of spending a rotated refresh token.
   */
  private refresh(failedAccess: string): Promise<boolean> {
    if (!this.refreshing) {
      const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
      const run = () => this.refreshNow(failedAccess);
      // Web Locks need a secure context; over plain http a random pause makes two tabs' refreshes unlikely to
      // cross (the server ends the whole session when a rotated refresh token is presented twice).
      const jittered = () => new Promise<void>((r) => setTimeout(r, Math.random() * 250)).then(run);
      this.refreshing = (locks ? locks.request(REFRESH_LOCK, run) : jittered()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async refreshNow(failedAccess: string): Promise<boolean> {
    const stored = this.readStored();
    if (stored && stored.access_token !== failedAccess && stored.expires_at > Date.now()) {
      this.tokens = stored;
      this.emit();
      return true;
    }
    const refreshToken = stored?.refresh_token ?? this.tokens?.refresh_token;
    if (!refreshToken) {
      this.store(null);
      return false;
    }
    const response = await this.fetchOnce("POST", "/api/auth/refresh", { body: { refresh_token: refreshToken } }, null);
    if (response.ok) {
      this.setTokens((await response.json()) as Tokens);
      return true;
    }
    if (response.status === 401 || response.status === 403) {
      // A tab that refreshed at the same moment may have rotated the token first: use what it stored.
      const now = this.readStored();
      if (now && now.refresh_token !== refreshToken) {
        this.tokens = now;
        this.emit();
        return true;
      }
      this.store(null);
      return false;
    }
    throw toApiError(response.status, await response.json().catch(() => null));
  }

  private readStored(): StoredTokens | null {
    try {
      const raw = this.storage.getItem(TOKENS_KEY);
      const value = raw ? (JSON.parse(raw) as StoredTokens) : null;
      return value?.access_token && value.refresh_token ? value : null;
    } catch {
      return null;
    }
  }

  private store(tokens: StoredTokens | null): void {
    const changed = (this.tokens === null) !== (tokens === null) || this.tokens?.access_token !== tokens?.access_token;
    this.tokens = tokens;
    if (tokens) this.storage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    else this.storage.removeItem(TOKENS_KEY);
    if (changed) this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.tokens);
  }
}

/** What happened and what to do, for answers that carry no message of the API's own. */
export function statusMessage(status: number, retryAfter: number | null = null): string {
  const wait = retryAfter !== null && retryAfter > 0 ? ` Try again in ${Math.ceil(retryAfter)} s.` : " Wait a moment and try again.";
  switch (status) {
    case 401:
      return "Your session has ended. Log in again.";
    case 403:
      return "You are not allowed to do that.";
    case 404:
      return "Not found: it may have been deleted.";
    case 413:
      return "That is too large for Renovo to accept.";
    case 429:
      return `Too many requests at once.${wait}`;
    case 502:
    case 504:
      return `Renovo's server is not answering (${status}); it may be restarting. Try again in a minute.`;
    case 503:
      return `Renovo is busy or being updated (503).${wait}`;
    default:
      return status >= 500
        ? `Something went wrong on the server (${status}). Try again; if it keeps happening, tell whoever runs Renovo.`
        : `The request was refused (${status}). Reload the page and try again.`;
  }
}

function toApiError(status: number, body: unknown, retryAfter: number | null = null): ApiError {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  const useServer = error?.message && status !== 502 && status !== 504;
  return new ApiError(status, error?.code ?? `http_${status}`, useServer ? error.message! : statusMessage(status, retryAfter), retryAfter);
}

/** The `sub` claim of a JWT, without checking it (the server does); null for anything else. */
export function tokenSubject(token: string | null): string | null {
  const part = token?.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

export function newIdempotencyKey(): string {
  // randomUUID exists only in secure contexts; a LAN install over plain http still has getRandomValues.
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
