import { act, render, screen, waitFor } from "@testing-library/react";
import { useEffect } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiClient } from "../api/client";
import type { Job } from "../api/types";
import { Toasts } from "../components/Toasts";
import { FakeSocket, json, scriptedFetch, storeTokens } from "../test/fakes";
import { LiveProvider, useLive } from "./live";
import { SessionProvider } from "./session";

const USER = { id: "u1", email: "ada@example.com", display_name: "Ada", created_at: "", preferences: { notifications: true } };

function job(id: string, status: Job["status"], updated_at: string): Job {
  return { id, image_id: "img-1", type: "none", options: {}, status, progress: 0, engine: "none", error: null, created_at: "2026-01-01T00:00:00Z", updated_at };
}

function Track({ jobs }: { jobs: Job[] }) {
  const { track } = useLive();
  useEffect(() => track(jobs), [track, jobs]);
  return null;
}

const running = [job("j2", "running", "2026-01-01T00:00:05Z")];

function setup(routes: Parameters<typeof scriptedFetch>) {
  storeTokens("access-1", "refresh-1");
  const fake = scriptedFetch((url) => (url === "/api/auth/me" ? json(200, USER) : undefined), ...routes);
  const client = new ApiClient(window.localStorage, fake.fetch);
  render(
    <SessionProvider client={client}>
      <LiveProvider socketFactory={(url) => new FakeSocket(url) as unknown as WebSocket}>
        <Track jobs={running} />
        <Toasts />
      </LiveProvider>
    </SessionProvider>,
  );
  return fake;
}

async function readySocket(index: number): Promise<FakeSocket> {
  await waitFor(() => expect(FakeSocket.instances.length).toBeGreaterThan(index), { timeout: 3000 });
  const socket = FakeSocket.instances[index];
  socket.open();
  expect(JSON.parse(socket.sent[0])).toEqual({ type: "auth", token: "access-1" });
  socket.receive({ type: "ready" });
  return socket;
}

describe("live updates", () => {
  const notifications: { title: string; options?: NotificationOptions }[] = [];
  beforeEach(() => {
    FakeSocket.instances = [];
    notifications.length = 0;
    class FakeNotification {
      static permission = "granted";
      onclick: (() => void) | null = null;
      constructor(title: string, options?: NotificationOptions) {
        notifications.push({ title, options });
      }
    }
    vi.stubGlobal("Notification", FakeNotification);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("authenticates with its first message and announces a completed job by toast and browser notification", async () => {
    setup([(url) => (url === "/api/jobs/j1" ? json(200, job("j1", "completed", "2026-01-01T00:00:09Z")) : undefined)]);
    const socket = await readySocket(0);
    expect(socket.url).toBe("ws://localhost:3000/api/notifications/ws");

    socket.receive({ type: "job.completed", job_id: "j1", image_id: "img-1", status: "completed", progress: 1 });

    expect(await screen.findByText("Your image is ready")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "View" })).toHaveAttribute("href", "/images/img-1?job=j1");
    expect(notifications).toHaveLength(1);
    expect(notifications[0].title).toMatch(/ready/);
  });

  it("announces a retry that failed again before this tab heard of the retry", async () => {
    const failedTwice = { ...job("j2", "failed", "2026-01-01T00:00:09Z"), attempt: 2, error: "damaged again" };
    setup([(url) => (url === "/api/jobs/j2" ? json(200, failedTwice) : undefined)]);
    const socket = await readySocket(0);
    socket.receive({ type: "job.failed", job_id: "j2", image_id: "img-1", status: "failed", error: "damaged" });
    expect(await screen.findByText("Enhancement failed")).toBeInTheDocument();
    // The retry's own pushes arrive before the retry's answer: read against attempt 1 they ask for the record.
    socket.receive({ type: "job.started", job_id: "j2", image_id: "img-1", status: "running" });
    socket.receive({ type: "job.failed", job_id: "j2", image_id: "img-1", status: "failed", error: "damaged again" });
    await waitFor(() => expect(screen.getAllByText("Enhancement failed")).toHaveLength(2));
  });

  it("reconnects after the socket drops and catches up on what it missed", async () => {
    let dropped = false;
    const fake = setup([
      (url) =>
        url.startsWith("/api/jobs?updated_since=")
          ? json(200, { items: dropped ? [job("j2", "failed", "2026-01-01T00:00:30Z")] : [], next_cursor: null })
          : undefined,
    ]);
    const first = await readySocket(0);
    dropped = true;
    first.drop();
    await readySocket(1);
    expect(await screen.findByText("Enhancement failed")).toBeInTheDocument();

    const catchUps = fake.calls.filter((c) => c.url.startsWith("/api/jobs?updated_since="));
    expect(catchUps.at(-1)?.url).toBe(`/api/jobs?updated_since=${encodeURIComponent("2026-01-01T00:00:05Z")}`);
    expect(first.closed).toBe(true);
  });

  it("asks once for a job it does not know, however many pushes arrive, and applies them on its record", async () => {
    let answer: (r: Response) => void = () => undefined;
    const fake = setup([(url) => (url === "/api/jobs/j9" ? new Promise<Response>((r) => (answer = r)) : undefined)]);
    const socket = await readySocket(0);
    for (let i = 1; i <= 10; i++) socket.receive({ type: "job.progress", job_id: "j9", image_id: "img-1", status: "running", progress: i / 20 });
    socket.receive({ type: "job.completed", job_id: "j9", image_id: "img-1", status: "completed", progress: 1 });
    await waitFor(() => expect(fake.calls.filter((c) => c.url === "/api/jobs/j9")).toHaveLength(1));
    // The record was read before the job finished: the push it missed still wins.
    answer(json(200, { ...job("j9", "running", "2026-01-01T00:00:07Z"), progress: 0.2 }));
    expect(await screen.findByText("Your image is ready")).toBeInTheDocument();
  });

  it("answers a finished-event it cannot place with a refetch", async () => {
    const fake = setup([(url) => (url === "/api/jobs/j2" ? json(200, job("j2", "completed", "2026-01-01T00:00:09Z")) : undefined)]);
    const socket = await readySocket(0);
    // Known here as cancelled (another tab cancelled it); the worker's completion raced the cancel.
    await waitFor(() => expect(fake.calls.length).toBeGreaterThan(0));
    socket.receive({ type: "job.cancelled", job_id: "j2", image_id: "img-1", status: "cancelled" });
    socket.receive({ type: "job.completed", job_id: "j2", image_id: "img-1", status: "completed", progress: 1 });
    await waitFor(() => expect(fake.calls.filter((c) => c.url === "/api/jobs/j2").length).toBeGreaterThan(0));
    expect(await screen.findByText("Your image is ready")).toBeInTheDocument();
  });
});

describe("toasts", () => {
  function Harness() {
    const { toast } = useLive();
    return (
      <button type="button" onClick={() => toast({ kind: "success", title: "Saved", href: "/x", linkText: "Open" })}>
        make
      </button>
    );
  }

  it("go by themselves after a while, but not while hovered or focused", async () => {
    storeTokens("access-1", "refresh-1");
    const fake = scriptedFetch((url) => (url === "/api/auth/me" ? json(200, USER) : undefined));
    const client = new ApiClient(window.localStorage, fake.fetch);
    render(
      <SessionProvider client={client}>
        <LiveProvider socketFactory={(url) => new FakeSocket(url) as unknown as WebSocket}>
          <Harness />
          <Toasts />
        </LiveProvider>
      </SessionProvider>,
    );
    await screen.findByRole("button", { name: "make" });
    vi.useFakeTimers();
    try {
      act(() => screen.getByRole("button", { name: "make" }).click());
      const region = screen.getByRole("region", { name: "Messages" });
      expect(screen.getByText("Saved")).toBeInTheDocument();
      act(() => {
        region.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
      });
      await act(async () => vi.advanceTimersByTime(20_000));
      expect(screen.getByText("Saved")).toBeInTheDocument();
      act(() => {
        region.dispatchEvent(new MouseEvent("mouseout", { bubbles: true, relatedTarget: document.body }));
        screen.getByRole("link", { name: "Open" }).focus();
      });
      await act(async () => vi.advanceTimersByTime(20_000));
      expect(screen.getByText("Saved")).toBeInTheDocument();
      act(() => (document.activeElement as HTMLElement).blur());
      await act(async () => vi.advanceTimersByTime(8_100));
      expect(screen.queryByText("Saved")).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
