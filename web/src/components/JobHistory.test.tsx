import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { Job } from "../api/types";
import { MODELS } from "../test/fixtures";
import { JobHistory } from "./JobHistory";

function job(id: string, status: Job["status"], extra: Partial<Job> = {}): Job {
  return { id, image_id: "img", type: "sr", options: { scale: 2 }, status, progress: 0.3, engine: "realsr-cuda", error: null, created_at: "2026-03-01T10:00:00Z", updated_at: "2026-03-01T10:00:00Z", ...extra };
}

describe("JobHistory", () => {
  it("lists type, options, engine, time and status, with the actions each status allows", async () => {
    const onView = vi.fn(), onCancel = vi.fn(), onRetry = vi.fn();
    const jobs = [
      job("running", "running"),
      job("failed", "failed", { type: "sr2d", options: { noise: 2, scale: 1, style: "photo" }, error: { code: "oom", message: "Out of memory" } }),
      job("done", "completed", { type: "none", options: {}, engine: "none" }),
    ];
    render(<JobHistory jobs={jobs} models={MODELS} viewing={null} onView={onView} onCancel={onCancel} onRetry={onRetry} />);

    const rows = screen.getAllByRole("row").slice(1);
    expect(within(rows[0]).getAllByRole("cell").map((c) => c.textContent)).toEqual([
      "SR", "Scale ×2", "realsr-cuda", expect.stringMatching(/2026/), "Running 30%", "Cancel",
    ]);
    expect(rows[1]).toHaveTextContent("Noise level 2, Scale ×1, Style photo");
    expect(rows[1]).toHaveTextContent("Out of memory");

    await userEvent.click(screen.getByRole("button", { name: "Cancel SR job" }));
    expect(onCancel).toHaveBeenCalledWith(jobs[0]);
    await userEvent.click(screen.getByRole("button", { name: "Retry 2D SR job" }));
    expect(onRetry).toHaveBeenCalledWith(jobs[1]);
    await userEvent.click(screen.getByRole("button", { name: /View None result/ }));
    expect(onView).toHaveBeenCalledWith(jobs[2]);
    expect(within(rows[2]).queryByRole("button", { name: /Retry|Cancel/ })).not.toBeInTheDocument();
  });

  it("shows a completed result's notes beside its status", () => {
    const noop = vi.fn();
    const note = "Not a photo (line art): lines kept, nothing inpainted.";
    render(<JobHistory jobs={[job("done", "completed", { type: "none", options: {}, notes: [note] }), job("f", "failed", { notes: ["stale"] })]} models={MODELS} viewing={null} onView={noop} onCancel={noop} onRetry={noop} />);
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows[0]).toHaveTextContent(note);
    expect(rows[1]).not.toHaveTextContent("stale");
  });

  it("shows the time left of a running job when the worker can tell", () => {
    const noop = vi.fn();
    render(<JobHistory jobs={[job("r", "running", { eta_seconds: 130 }), job("q", "running", { eta_seconds: null })]} models={MODELS} viewing={null} onView={noop} onCancel={noop} onRetry={noop} />);
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows[0]).toHaveTextContent("Running 30%, about 2 min left");
    expect(rows[1]).not.toHaveTextContent("left");
  });
});
