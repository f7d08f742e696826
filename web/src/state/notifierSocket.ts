// The notifier WebSocket of DESIGN.md: authenticate with the first message, wait for "ready", pass job pushes
// on, and reconnect with backoff for as long as the caller keeps it open.
import type { ApiClient } from "../api/client";
import type { JobEvent } from "../api/types";

export type SocketState = "connecting" | "open" | "offline";
export type SocketFactory = (url: string) => WebSocket;

export interface SocketHandlers {
  onState(state: SocketState): void;
  /** After each "ready"; `reconnected` is false for the first one. */
  onReady(reconnected: boolean): void;
  onEvent(event: JobEvent): void;
}

const TOO_MANY_TABS_WAIT_MS = 60_000;

export function socketUrl(location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/notifications/ws`;
}

/** Full jitter over an exponential step, capped at 30 s. */
export function backoffDelay(attempt: number): number {
  const base = Math.min(30_000, 1000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** Open the socket and keep it open; returns the function that closes it for good. */
export function openNotifierSocket(client: ApiClient, factory: SocketFactory, handlers: SocketHandlers): () => void {
  let ws: WebSocket | null = null;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let everReady = false;
  let refused: string | null = null;
  let tooMany = false;

  const retryLater = (delay = backoffDelay(attempt++)) => {
    if (stopped) return;
    handlers.onState("offline");
    timer = setTimeout(connect, delay);
  };

  const connect = async () => {
    timer = null;
    if (stopped) return;
    handlers.onState("connecting");
    let token: string | null = null;
    try {
      // A token the server refused although it looked valid here (clock skew, a new signing key) is renewed.
      if (refused && !(await client.renew(refused))) return;
      refused = null;
      token = await client.accessToken();
    } catch {
      // The refresh itself failed (offline): try again later.
    }
    if (stopped) return;
    if (!token) {
      if (client.isLoggedIn) retryLater();
      return;
    }
    const socket = factory(socketUrl());
    ws = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }));
    socket.onmessage = (message) => {
      let data: { type?: unknown; error?: { code?: string } };
      try {
        data = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (data.type === "error") {
        if (data.error?.code === "unauthorized") refused = token;
        if (data.error?.code === "too_many_sockets") tooMany = true;
      } else if (data.type === "ready") {
        attempt = 0;
        tooMany = false;
        handlers.onState("open");
        handlers.onReady(everReady);
        everReady = true;
      } else if (typeof data.type === "string" && data.type.startsWith("job.")) {
        handlers.onEvent(data as unknown as JobEvent);
      }
    };
    socket.onclose = () => {
      if (ws !== socket) return;
      ws = null;
      // Too many open tabs: this one waits longer (the caller polls meanwhile) instead of knocking every second.
      retryLater(tooMany ? TOO_MANY_TABS_WAIT_MS : undefined);
    };
  };

  const online = () => {
    if (!ws && timer) {
      clearTimeout(timer);
      attempt = 0;
      void connect();
    }
  };

  void connect();
  window.addEventListener("online", online);
  return () => {
    stopped = true;
    window.removeEventListener("online", online);
    if (timer) clearTimeout(timer);
    const socket = ws;
    ws = null;
    socket?.close();
  };
}
