import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiClient } from "../api/client";
import type { Job } from "../api/types";
import { App } from "../App";
import { MODELS } from "../test/fixtures";
import { FakeSocket, json, scriptedFetch, storeTokens, type Route } from "../test/fakes";

const USER = { id: "u1", email: "ada@example.com", display_name: "Ada", created_at: "" };
const IMAGE = { id: "img-1", album_id: "a1", filename: "old photo.jpg", width: 400, height: 300, content_type: "image/jpeg", size_bytes: 1234, created_at: "" };
const ALBUMS = [
  { id: "a1", name: "Holidays", image_count: 1, created_at: "" },
  { id: "a2", name: "Family", image_count: 0, created_at: "" },
];

function job(id: string, type: string, options: Job["options"], engine: string, extra: Partial<Job> = {}): Job {
  return { id, image_id: "img-1", type, options, status: "completed", progress: 1, engine, error: null, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", ...extra };
}

const common: Route = (url) => {
  if (url === "/api/auth/me") return json(200, USER);
  if (url === "/api/albums") return json(200, { items: ALBUMS, next_cursor: null });
  if (url === "/api/images/img-1") return json(200, IMAGE);
  if (url === "/api/models") return json(200, { items: MODELS });
  if (url.endsWith("/preview") || url.endsWith("/result") || url.endsWith("/thumbnail")) return new Response("x", { headers: { "Content-Type": "image/png" } });
  return undefined;
};

function renderPage(...routes: Route[]) {
  storeTokens();
  window.history.replaceState(null, "", "/images/img-1");
  const scripted = scriptedFetch(...routes, common);
  const client = new ApiClient(window.localStorage, scripted.fetch);
  render(<App client={client} socketFactory={(url) => new FakeSocket(url) as unknown as WebSocket} />);
  return scripted;
}

beforeEach(() => {
  FakeSocket.instances = [];
  let n = 0;
  URL.createObjectURL = vi.fn(() => `blob:fake-${++n}`);
  URL.revokeObjectURL = vi.fn();
});

describe("ImagePage compare", () => {
  const JOBS = [
    job("j2", "sr2d", { noise: 1, scale: 2, style: "art" }, "waifu2x-cuda", { created_at: "2026-01-02T00:00:00Z" }),
    job("j1", "sr", { scale: 4 }, "realsr-cuda"),
    job("j0", "none", {}, "none", { status: "failed" }),
  ];

  it("lets the person pick any two of the original and each completed result, labelled by type, options and engine", async () => {
    renderPage((url) => (url === "/api/jobs?image_id=img-1" ? json(200, { items: JOBS, next_cursor: null }) : undefined));
    const compare = await screen.findByRole("region", { name: "Compare before and after" });
    const left = within(compare).getByLabelText("Left");
    const right = within(compare).getByLabelText("Right");
    await waitFor(() =>
      expect(within(left).getAllByRole("option").map((o) => o.textContent)).toEqual([
        "Original",
        "2D SR, Noise level 1, Scale ×2, Style art · waifu2x-cuda",
        "SR, Scale ×4 · realsr-cuda",
      ]),
    );
    expect(left).toHaveValue("original");
    expect(right).toHaveValue("j2");

    await userEvent.selectOptions(left, "j1");
    expect(await within(compare).findByRole("img", { name: "old photo.jpg, SR, Scale ×4 · realsr-cuda" })).toBeInTheDocument();
    expect(within(compare).getByRole("img", { name: /2D SR/ })).toBeInTheDocument();
    expect(within(compare).queryByRole("img", { name: /Original/ })).not.toBeInTheDocument();

    await userEvent.click(within(compare).getByRole("button", { name: "Side by side" }));
    expect(within(compare).getByText("SR, Scale ×4 · realsr-cuda", { selector: "figcaption" })).toBeInTheDocument();
  });

  it("shows both at actual size and pans them together", async () => {
    renderPage((url) => (url === "/api/jobs?image_id=img-1" ? json(200, { items: JOBS, next_cursor: null }) : undefined));
    const compare = await screen.findByRole("region", { name: "Compare before and after" });
    await userEvent.click(within(compare).getByRole("button", { name: "Side by side" }));
    const zoom = within(compare).getByRole("button", { name: "Actual size (100 %)" });
    await userEvent.click(zoom);
    expect(within(compare).getByRole("button", { name: "Fit to screen" })).toHaveAttribute("aria-pressed", "true");
    const panes = within(compare).getAllByRole("region", { name: /at actual size/ });
    expect(panes).toHaveLength(2);
    // Images are drawn at the larger one's pixel width: a 4x result of a 400 px original is 1600 px.
    const img = await within(compare).findByRole("img", { name: /2D SR/ });
    Object.defineProperty(img, "naturalWidth", { value: 1600 });
    fireEvent.load(img);
    await waitFor(() => expect(img.parentElement).toHaveStyle({ width: "1600px" }));
    panes[0].scrollLeft = 300;
    panes[0].scrollTop = 120;
    fireEvent.scroll(panes[0]);
    expect(panes[1].scrollLeft).toBe(300);
    expect(panes[1].scrollTop).toBe(120);
  });
});

describe("ImagePage several types at once", () => {
  it("runs several types (or option sets) in one action: one POST each, own keys, one shared batch, chosen format", async () => {
    let n = 0;
    const { calls } = renderPage((url, init) => {
      if (url === "/api/jobs?image_id=img-1") return json(200, { items: [], next_cursor: null });
      if (url === "/api/jobs" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        return json(202, job(`new-${++n}`, body.type, body.options, "x", { status: "queued", progress: 0 }));
      }
      return undefined;
    });
    await userEvent.selectOptions(await screen.findByLabelText("Select type"), "sr");
    await userEvent.selectOptions(screen.getByLabelText("Result format"), "webp");
    fireEvent.change(screen.getByLabelText(/Quality/), { target: { value: "70" } });
    await userEvent.selectOptions(screen.getByLabelText("Scale"), "2");
    await userEvent.click(screen.getByRole("button", { name: "Add another type to this run" }));
    expect(screen.getByRole("button", { name: "Add another type to this run" })).toBeDisabled();
    await userEvent.selectOptions(screen.getByLabelText("Scale"), "4");
    await userEvent.click(screen.getByRole("button", { name: "Add another type to this run" }));
    await userEvent.selectOptions(screen.getByLabelText("Select type"), "none");
    expect(within(screen.getByRole("list", { name: "Types in this run" })).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "SR, Scale ×2, WebP q70Remove",
      "SR, Scale ×4, WebP q70Remove",
      "and None, WebP q70 (selected here)",
    ]);
    await userEvent.click(screen.getByRole("button", { name: "Run 3 types" }));

    await waitFor(() => expect(calls.filter((c) => c.url === "/api/jobs" && c.method === "POST")).toHaveLength(3));
    const posts = calls.filter((c) => c.url === "/api/jobs" && c.method === "POST");
    const bodies = posts.map((p) => p.body as { type: string; options: object; output: object; batch: { id: string; size: number } });
    expect(bodies.map((b) => [b.type, b.options])).toEqual([["sr", { scale: 2 }], ["sr", { scale: 4 }], ["none", {}]]);
    expect(bodies.every((b) => JSON.stringify(b.output) === JSON.stringify({ format: "webp", quality: 70 }))).toBe(true);
    expect(new Set(bodies.map((b) => b.batch.id)).size).toBe(1);
    expect(bodies[0].batch.size).toBe(3);
    expect(new Set(posts.map((p) => p.headers["Idempotency-Key"])).size).toBe(3);
    expect(await screen.findByRole("button", { name: "Run" })).toBeEnabled();
    expect(within(screen.getByRole("table")).getAllByRole("button", { name: /Cancel/ })).toHaveLength(3);
  });
});

describe("ImagePage organise", () => {
  it("moves the image to another album chosen from a list", async () => {
    const { calls } = renderPage((url, init) => {
      if (url === "/api/jobs?image_id=img-1") return json(200, { items: [], next_cursor: null });
      if (url === "/api/images/img-1" && init.method === "PATCH") return json(200, { ...IMAGE, album_id: "a2" });
      return undefined;
    });
    await screen.findByRole("heading", { name: "old photo.jpg" });
    const select = screen.getByRole("combobox", { name: "Move to album" });
    await waitFor(() => expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["Choose an album…", "Family"]));
    expect(screen.getByRole("button", { name: "Move" })).toBeDisabled();
    await userEvent.selectOptions(select, "a2");
    await userEvent.click(screen.getByRole("button", { name: "Move" }));
    expect(await screen.findByText("Moved to “Family”")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ album_id: "a2" });
    expect(screen.getByRole("link", { name: "← Family" })).toHaveAttribute("href", "/albums/a2");
  });

  it("deletes only after a confirmation, by keyboard, then goes back to the album", async () => {
    const { calls } = renderPage((url, init) => {
      if (url === "/api/jobs?image_id=img-1") return json(200, { items: [], next_cursor: null });
      if (url === "/api/images/img-1" && init.method === "DELETE") return new Response(null, { status: 204 });
      return undefined;
    });
    await screen.findByRole("heading", { name: "old photo.jpg" });
    const ask = screen.getByRole("button", { name: "Delete image…" });
    ask.focus();
    await userEvent.keyboard("{Enter}");
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    const confirm = screen.getByRole("group", { name: /Delete “old photo.jpg” and all its results/ });
    await userEvent.click(within(confirm).getByRole("button", { name: "Keep it" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);

    await userEvent.click(screen.getByRole("button", { name: "Delete image…" }));
    expect(screen.getByRole("button", { name: "Delete for good" })).toHaveFocus();
    await userEvent.keyboard("{Enter}");
    await waitFor(() => expect(window.location.pathname).toBe("/albums/a1"));
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.url)).toEqual(["/api/images/img-1"]);
  });
});

describe("ImagePage one type in several formats", () => {
  it("runs the same type once per format, and the compare menus tell the results apart", async () => {
    let n = 0;
    const { calls } = renderPage((url, init) => {
      if (url === "/api/jobs?image_id=img-1") return json(200, { items: [], next_cursor: null });
      if (url === "/api/jobs" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        return json(202, job(`new-${++n}`, body.type, body.options, "none", { output: body.output }));
      }
      return undefined;
    });
    await userEvent.selectOptions(await screen.findByLabelText("Select type"), "none");
    await userEvent.selectOptions(screen.getByLabelText("Result format"), "png");
    await userEvent.click(screen.getByRole("button", { name: "Add another type to this run" }));
    await userEvent.selectOptions(screen.getByLabelText("Result format"), "jpeg");
    await userEvent.click(screen.getByRole("button", { name: "Run 2 types" }));
    await waitFor(() => expect(calls.filter((c) => c.url === "/api/jobs" && c.method === "POST")).toHaveLength(2));
    const compare = await screen.findByRole("region", { name: "Compare before and after" });
    await waitFor(() =>
      expect(within(within(compare).getByLabelText("Left")).getAllByRole("option").map((o) => o.textContent)).toEqual([
        "Original",
        "None, PNG · none",
        "None, JPEG q90 · none",
      ]),
    );
  });
});

describe("ImagePage photo date", () => {
  it("shows when the photo was taken where the API knows it, and nothing otherwise", async () => {
    renderPage((url) => {
      if (url === "/api/jobs?image_id=img-1") return json(200, { items: [], next_cursor: null });
      if (url === "/api/images/img-1") return json(200, { ...IMAGE, taken_at: "1987-07-14T16:20:00" });
      return undefined;
    });
    await screen.findByRole("heading", { name: "old photo.jpg" });
    const time = await screen.findByText((_, el) => el?.tagName === "TIME" && el.getAttribute("datetime") === "1987-07-14T16:20:00");
    expect(time).toHaveTextContent(/1987/);
    expect(time.parentElement).toHaveTextContent(/taken/);
  });
});
