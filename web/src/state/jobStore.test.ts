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

  it("lets a retry start a finished job again, but not a late progress push", () => {
    const store = new JobStore();
    store.upsert([job("a", "failed", "2026-01-01T00:00:10+00:00")]);
    store.applyEvent({ type: "job.progress", job_id: "a", image_id: "img", status: "running", progress: 0.5, updated_at: "2026-01-01T00:00:09+00:00" });
    expect(store.get("a")?.status).toBe("failed");
    store.applyEvent({ type: "job.started", job_id: "a", image_id: "img", status: "running", progress: 0, updated_at: "2026-01-01T00:00:20+00:00" });
    expect(store.get("a")?.status).toBe("running");
    expect(store.get("a")?.error).toBeNull();
  });
});
