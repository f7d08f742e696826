// The HTTP client: bearer tokens kept across reloads, one refresh on 401 (shared by concurrent requests and
// coordinated between tabs, since refresh tokens rotate), and errors turned into ApiError with the server's message.
import type { Tokens, UploadResult } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
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

  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>("POST", path, { body, headers });
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
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** GET a binary resource (thumbnail, original, result) with the bearer token. */
  async blob(path: string, signal?: AbortSignal): Promise<Blob> {
    const response = await this.send("GET", path, { signal });
    return response.blob();
  }

  /** Upload one file with progress; one request per file so each has its own progress. */
  async upload(file: File, albumId: string | null, onProgress: (fraction: number) => void): Promise<UploadResult> {
    const attempt = async (): Promise<{ status: number; body: string }> => {
      const token = await this.accessToken();
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", `${this.baseUrl}/api/images`);
        if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        };
        xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
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
    const body = result.body ? JSON.parse(result.body) : {};
    if (result.status >= 400) throw toApiError(result.status, body);
    return body as UploadResult;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
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
        body = null;
      }
      throw toApiError(response.status, body);
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

function toApiError(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  const fallback = status >= 500 ? "Something went wrong on the server. Please try again." : `Request failed (${status}).`;
  return new ApiError(status, error?.code ?? `http_${status}`, error?.message ?? fallback);
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
