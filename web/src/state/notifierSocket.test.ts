import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ApiClient } from "../api/client";
import { FakeSocket } from "../test/fakes";
import { backoffDelay, openNotifierSocket, type SocketState } from "./notifierSocket";

function client(tokens: string[]) {
  let current = tokens[0];
  const renew = vi.fn(async (refused: string) => {
    const next = tokens[tokens.indexOf(refused) + 1];
    if (!next) return false;
    current = next;
    return true;
  });
  return {
    api: { isLoggedIn: true, accessToken: vi.fn(async () => current), renew } as unknown as ApiClient,
    renew,
  };
}

function open(api: ApiClient) {
  const states: SocketState[] = [];
  const ready: boolean[] = [];
  const close = openNotifierSocket(api, (url) => new FakeSocket(url) as unknown as WebSocket, {
    onState: (s) => states.push(s),
    onReady: (reconnected) => ready.push(reconnected),
    onEvent: () => undefined,
  });
  return { states, ready, close };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  FakeSocket.instances = [];
  vi.useFakeTimers();
  vi.spyOn(Math, "random").mockReturnValue(0.5);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("notifier socket", () => {
  it("backs off exponentially with jitter, capped at 30 s, and starts again from 1 s after a ready", async () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(backoffDelay)).toEqual([750, 1500, 3000, 6000, 12000, 22500, 22500]);
    const { api } = client(["a1"]);
    const { states, ready, close } = open(api);
    await flush();
    FakeSocket.instances[0].drop();
    expect(states.at(-1)).toBe("offline");
    await vi.advanceTimersByTimeAsync(749);
    expect(FakeSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.instances[1].drop();
    await vi.advanceTimersByTimeAsync(1499);
    expect(FakeSocket.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.instances).toHaveLength(3);
    const third = FakeSocket.instances[2];
    third.open();
    third.receive({ type: "ready" });
    expect(states.at(-1)).toBe("open");
    expect(ready).toEqual([false]);
    third.drop();
    await vi.advanceTimersByTimeAsync(750);
    expect(FakeSocket.instances).toHaveLength(4);
    FakeSocket.instances[3].open();
    FakeSocket.instances[3].receive({ type: "ready" });
    expect(ready).toEqual([false, true]);
    close();
    expect(FakeSocket.instances[3].closed).toBe(true);
  });

  it("renews a token the server refused and authenticates with the new one", async () => {
    const { api, renew } = client(["a1", "a2"]);
    const { states, close } = open(api);
    await flush();
    const first = FakeSocket.instances[0];
    first.open();
    expect(JSON.parse(first.sent[0])).toEqual({ type: "auth", token: "a1" });
    first.receive({ type: "error", error: { code: "unauthorized" } });
    first.drop();
    await vi.advanceTimersByTimeAsync(750);
    expect(renew).toHaveBeenCalledWith("a1");
    const second = FakeSocket.instances[1];
    second.open();
    expect(JSON.parse(second.sent[0])).toEqual({ type: "auth", token: "a2" });
    second.receive({ type: "ready" });
    expect(states.at(-1)).toBe("open");
    close();
  });

  it("stops when the session cannot be renewed, and reconnects at once when the browser is back online", async () => {
    const { api, renew } = client(["a1"]);
    const { close } = open(api);
    await flush();
    FakeSocket.instances[0].open();
    FakeSocket.instances[0].receive({ type: "error", error: { code: "unauthorized" } });
    FakeSocket.instances[0].drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(renew).toHaveBeenCalledTimes(1);
    expect(FakeSocket.instances).toHaveLength(1);
    close();

    const other = client(["b1"]);
    const second = open(other.api);
    await flush();
    FakeSocket.instances[1].drop();
    window.dispatchEvent(new Event("online"));
    await flush();
    expect(FakeSocket.instances).toHaveLength(3);
    second.close();
  });
});
