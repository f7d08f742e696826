import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ApiClient } from "./api/client";
import type { Job } from "./api/types";
import { App } from "./App";
import { MODELS } from "./test/fixtures";
import { FakeSocket, json, scriptedFetch, storeTokens } from "./test/fakes";

const USER = { id: "u1", email: "ada@example.com", display_name: "Ada", created_at: "" };
const IMAGE = { id: "img-1", album_id: null, filename: "old photo.jpg", width: 400, height: 300, content_type: "image/jpeg", size_bytes: 1234, created_at: "" };
const TOKENS = { access_token: "access-1", refresh_token: "refresh-1", token_type: "bearer", expires_in: 900 };

const common = (url: string) => {
  if (url === "/api/auth/me") return json(200, USER);
  if (url === "/api/albums") return json(200, { items: [{ id: "a1", name: "Holidays", image_count: 1, created_at: "" }], next_cursor: null });
  if (url.startsWith("/api/images?")) return json(200, { items: [IMAGE], next_cursor: null });
  if (url === "/api/models") return json(200, { items: MODELS });
  if (url.endsWith("/thumbnail") || url.endsWith("/original")) return new Response(new Blob(["x"], { type: "image/jpeg" }));
  return undefined;
};

function renderApp(fetchFn: typeof fetch) {
  const client = new ApiClient(window.localStorage, fetchFn);
  render(<App client={client} socketFactory={(url) => new FakeSocket(url) as unknown as WebSocket} />);
  return client;
}

beforeEach(() => {
  FakeSocket.instances = [];
  URL.createObjectURL = vi.fn(() => "blob:fake");
  URL.revokeObjectURL = vi.fn();
});

describe("App", () => {
  it("sends signed-out people to log in, shows the server's error, then opens the gallery", async () => {
    const { fetch } = scriptedFetch((url, init) => {
      if (url !== "/api/auth/login") return undefined;
      const body = JSON.parse(String(init.body));
      return body.password === "right one"
        ? json(200, TOKENS)
        : json(401, { error: { code: "invalid_credentials", message: "Wrong email or password." } });
    }, common);
    renderApp(fetch);

    expect(await screen.findByRole("heading", { name: "Log in" })).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Wrong email or password.");

    await userEvent.clear(screen.getByLabelText("Password"));
    await userEvent.type(screen.getByLabelText("Password"), "right one");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByRole("heading", { name: "All images" })).toBeInTheDocument();
    expect(screen.getByLabelText("Click or drop here")).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "old photo.jpg" })).toHaveAttribute("href", "/images/img-1");
    expect(screen.getByRole("navigation", { name: "Albums" })).toHaveTextContent("Holidays");
    expect(JSON.parse(window.localStorage.getItem("renovo.tokens")!).refresh_token).toBe("refresh-1");
  });

  it("runs the selected type with an idempotency key and follows its progress from the socket", async () => {
    storeTokens();
    window.history.replaceState(null, "", "/images/img-1");
    let created: Job | null = null;
    const { fetch, calls } = scriptedFetch((url, init) => {
      if (url === "/api/images/img-1") return json(200, IMAGE);
      if (url === "/api/jobs?image_id=img-1") return json(200, { items: [], next_cursor: null });
      if (url === "/api/jobs" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        created = { id: "j1", image_id: "img-1", type: body.type, options: body.options, status: "queued", progress: 0, engine: "waifu2x-cuda", error: null, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" };
        return json(202, created);
      }
      if (url === "/api/jobs/j1") return json(200, { ...created, status: "completed", progress: 1, updated_at: "2026-01-01T00:00:09Z" });
      if (url === "/api/jobs/j1/result") return new Response(new Blob(["png"], { type: "image/png" }));
      return undefined;
    }, common);
    renderApp(fetch);

    expect(await screen.findByRole("heading", { name: "old photo.jpg" })).toBeInTheDocument();
    await userEvent.selectOptions(await screen.findByLabelText("Select type"), "sr2d");
    await userEvent.selectOptions(screen.getByLabelText("Scale"), "4");
    await userEvent.click(screen.getByRole("button", { name: "Run" }));

    const post = calls.find((c) => c.url === "/api/jobs" && c.method === "POST")!;
    expect(post.body).toEqual({ image_id: "img-1", type: "sr2d", options: { noise: 1, scale: 4, style: "art" }, output: { format: "auto" } });
    expect(post.headers["Idempotency-Key"]).toMatch(/^[0-9a-f-]{36}$/);

    const history = screen.getByRole("table");
    expect(within(history).getByRole("cell", { name: "2D SR" })).toBeInTheDocument();
    expect(within(history).getByRole("cell", { name: "Noise level 1, Scale ×4, Style art" })).toBeInTheDocument();
    expect(within(history).getByRole("button", { name: "Cancel 2D SR job" })).toBeInTheDocument();

    const socket = FakeSocket.instances[0];
    socket.open();
    socket.receive({ type: "ready" });
    socket.receive({ type: "job.progress", job_id: "j1", image_id: "img-1", status: "running", progress: 0.4 });
    expect(await screen.findByRole("progressbar", { name: "Enhancement progress" })).toHaveAttribute("value", "0.4");
    expect(screen.getByText(/2D SR: 40%/)).toBeInTheDocument();

    socket.receive({ type: "job.completed", job_id: "j1", image_id: "img-1", status: "completed", progress: 1 });
    expect(await screen.findByText("Your image is ready")).toBeInTheDocument();
    expect(await screen.findByRole("region", { name: "Compare before and after" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("button", { name: "Download result" })).toBeEnabled());
    expect(within(history).getByText("Done")).toBeInTheDocument();
    expect(within(history).getByRole("cell", { name: "waifu2x-cuda" })).toBeInTheDocument();
    expect(window.location.search).toBe("?job=j1");
  });

  it("loads the next page of thumbnails when the end of the grid comes into view, newest first, without duplicates", async () => {
    storeTokens();
    const img = (n: number) => ({ ...IMAGE, id: `img-${n}`, filename: `photo ${n}.jpg` });
    const { fetch, calls } = scriptedFetch((url) => {
      if (url === "/api/images?limit=60") return json(200, { items: [img(3), img(2)], next_cursor: "c2" });
      if (url === "/api/images?limit=60&cursor=c2") return json(200, { items: [img(2), img(1)], next_cursor: null });
      return undefined;
    }, common);
    renderApp(fetch);

    const grid = await screen.findByRole("list", { name: "Images" });
    await waitFor(() => expect(within(grid).getAllByRole("link")).toHaveLength(3));
    expect(within(grid).getAllByRole("link").map((a) => a.getAttribute("aria-label"))).toEqual(["photo 3.jpg", "photo 2.jpg", "photo 1.jpg"]);
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(calls.filter((c) => c.url.startsWith("/api/images?"))).toHaveLength(2);
  });
});
