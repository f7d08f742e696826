import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { JobStore } from "./jobStore";

function job(id: string, status: Job["status"], updated_at: string): Job {
  return { id, image_id: "img", type: "none", options: {}, status, progress: 0, engine: null, error: null, created_at: updated_at, updated_at };
}

describe("JobStore", () => {
  it("never lets an older record or a late push undo a finished job", () => {
    const store = new JobStore();
    store.upsert([job("a", "completed", "2026-01-01T00:00:10Z")]);
    expect(store.upsert([job("a", "running", "2026-01-01T00:00:05Z")])).toEqual([]);
    store.applyEvent({ type: "job.progress", job_id: "a", image_id: "img", status: "running", progress: 0.5 });
    expect(store.get("a")?.status).toBe("completed");
  });

  it("catches up from the oldest job still in flight, else from the newest change", () => {
    const store = new JobStore();
    expect(store.lastUpdatedAt()).toBeNull();
    store.upsert([job("a", "completed", "2026-01-01T00:00:10Z"), job("b", "running", "2026-01-01T00:00:03Z")]);
    expect(store.lastUpdatedAt()).toBe("2026-01-01T00:00:03Z");
    store.upsert([job("b", "completed", "2026-01-01T00:00:12Z")]);
    expect(store.lastUpdatedAt()).toBe("2026-01-01T00:00:12Z");
    expect(store.hasActive()).toBe(false);
  });
});

describe("JobStore ordering", () => {
  it("keeps a pushed completion when a slower HTTP answer still says running", () => {
    const store = new JobStore();
    store.upsert([job("a", "running", "2026-01-01T00:00:05.100000+00:00")]);
    store.applyEvent({ type: "job.completed", job_id: "a", image_id: "img", status: "completed", progress: 1, updated_at: "2026-01-01T00:00:06.250000+00:00" });
    expect(store.upsert([job("a", "running", "2026-01-01T00:00:05.900000+00:00")])).toEqual([]);
    expect(store.get("a")?.status).toBe("completed");
  });

  it("lets a retry (the next attempt's record) start a finished job again, but no late push", () => {
    const store = new JobStore();
    store.upsert([job("a", "failed", "2026-01-01T00:00:10+00:00")]);
    // Pushes carry no attempt: a running push after the end is behind it, and the page asks the service.
    expect(store.applyEvent({ type: "job.started", job_id: "a", image_id: "img", status: "running", progress: 0, updated_at: "2026-01-01T00:00:20+00:00" })).toBe("refetch");
    expect(store.get("a")?.status).toBe("failed");
    expect(store.applyEvent({ type: "job.failed", job_id: "a", image_id: "img", status: "failed" })).toBe("applied");
    // The retry's answer (attempt 2) wins over everything of attempt 1.
    store.upsert([{ ...job("a", "queued", "2026-01-01T00:00:21+00:00"), attempt: 2 }]);
    expect(store.get("a")?.status).toBe("queued");
    expect(store.get("a")?.error).toBeNull();
    expect(store.upsert([{ ...job("a", "failed", "2026-01-01T00:00:30+00:00"), attempt: 1 }])).toEqual([]);
    expect(store.applyEvent({ type: "job.started", job_id: "a", image_id: "img", status: "running", progress: 0 })).toBe("applied");
    expect(store.get("a")?.status).toBe("running");
  });
});

describe("JobStore with the backend's two clocks", () => {
  // As the services send them: the jobs service's record carries the time it stored the row
  // (row["updated_at"].isoformat()), a push the time the event happened at the worker
  // (envelope.occurred_at.isoformat(), added by the notifier), which is earlier than the store time.
  const running = (progress: number, stored: string): Job => ({
    ...job("j", "running", stored),
    progress,
    attempt: 1,
    created_at: "2026-11-29T19:31:40.102311+00:00",
  });

  it("keeps a completion that happened before the last progress was stored", () => {
    const store = new JobStore();
    // The page fetched the job after the jobs service stored progress 0.9 at .905117.
    store.upsert([running(0.9, "2026-11-29T19:31:45.905117+00:00")]);
    // The worker finished at .871002 (its clock, before that store time).
    const outcome = store.applyEvent({
      type: "job.completed", job_id: "j", image_id: "img", status: "completed", progress: 1,
      updated_at: "2026-11-29T19:31:45.871002+00:00",
    });
    expect(outcome).toBe("applied");
    expect(store.get("j")?.status).toBe("completed");
    // A slow answer still saying running does not undo it.
    expect(store.upsert([running(0.95, "2026-11-29T19:31:46.001000+00:00")])).toEqual([]);
    expect(store.get("j")?.status).toBe("completed");
    // The catch-up point stays on the jobs service's clock.
    expect(store.lastUpdatedAt()).toBe("2026-11-29T19:31:45.905117+00:00");
  });

  it("never moves progress backwards, with or without timestamps", () => {
    const store = new JobStore();
    store.upsert([running(0.6, "2026-11-29T19:31:45.000001+00:00")]);
    expect(store.applyEvent({ type: "job.progress", job_id: "j", image_id: "img", status: "running", progress: 0.4 })).toBe("stale");
    expect(store.applyEvent({
      type: "job.progress", job_id: "j", image_id: "img", status: "running", progress: 0.5,
      updated_at: "2026-11-29T19:31:59.000000+00:00",
    })).toBe("stale");
    expect(store.get("j")?.progress).toBe(0.6);
    expect(store.applyEvent({ type: "job.progress", job_id: "j", image_id: "img", status: "running", progress: 0.7 })).toBe("applied");
    expect(store.get("j")?.progress).toBe(0.7);
  });

  it("keeps pushes for a job it does not know yet and applies them on its record", () => {
    const store = new JobStore();
    expect(store.applyEvent({ type: "job.progress", job_id: "j", image_id: "img", status: "running", progress: 0.3 })).toBe("unknown");
    expect(store.applyEvent({ type: "job.completed", job_id: "j", image_id: "img", status: "completed", progress: 1 })).toBe("unknown");
    expect(store.applyEvent({ type: "job.progress", job_id: "j", image_id: "img", status: "running", progress: 0.8 })).toBe("unknown");
    // The record fetched meanwhile is behind the completion it missed.
    store.upsert([running(0.5, "2026-11-29T19:31:45.000001+00:00")]);
    expect(store.get("j")?.status).toBe("completed");
  });

  it("lets the service decide between two different ends of one attempt", () => {
    const store = new JobStore();
    store.upsert([{ ...job("j", "cancelled", "2026-11-29T19:31:45.000001+00:00"), progress: 0.4 }]);
    // The worker's completion raced the cancel the service accepted first.
    expect(store.applyEvent({ type: "job.completed", job_id: "j", image_id: "img", status: "completed", progress: 1 })).toBe("refetch");
    expect(store.get("j")?.status).toBe("cancelled");
    store.upsert([{ ...job("j", "completed", "2026-11-29T19:31:46.000001+00:00"), progress: 1 }]);
    expect(store.get("j")?.status).toBe("completed");
    store.upsert([{ ...job("j", "cancelled", "2026-11-29T19:31:47.000001+00:00"), progress: 0.4 }]);
    expect(store.get("j")?.status).toBe("cancelled");
  });
});

describe("JobStore ETA", () => {
  it("takes eta_seconds from progress pushes and drops it when the job ends", () => {
    const store = new JobStore();
    store.upsert([job("a", "running", "2026-01-01T00:00:05Z")]);
    store.applyEvent({ type: "job.progress", job_id: "a", image_id: "img", status: "running", progress: 0.25, eta_seconds: 90 });
    expect(store.get("a")?.eta_seconds).toBe(90);
    store.applyEvent({ type: "job.progress", job_id: "a", image_id: "img", status: "running", progress: 0.3 });
    expect(store.get("a")?.eta_seconds).toBe(90);
    store.applyEvent({ type: "job.completed", job_id: "a", image_id: "img", status: "completed", progress: 1 });
    expect(store.get("a")?.eta_seconds).toBeNull();
  });
});
