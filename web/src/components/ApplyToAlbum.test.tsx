import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { ApiClient } from "../api/client";
import { LiveProvider } from "../state/live";
import { SessionProvider } from "../state/session";
import { FakeSocket, json, scriptedFetch, storeTokens } from "../test/fakes";
import { MODELS } from "../test/fixtures";
import { ApplyToAlbum } from "./ApplyToAlbum";
import { BatchBar } from "./BatchBar";

const USER = { id: "u1", email: "ada@example.com", display_name: "Ada", created_at: "" };
const img = (n: number) => ({ id: `img-${n}`, album_id: "a1", filename: `p${n}.jpg`, width: 4, height: 3, content_type: "image/jpeg", size_bytes: 9, created_at: "" });

function Harness({ client, onClose }: { client: ApiClient; onClose(): void }) {
  const [open, setOpen] = useState(true);
  return (
    <SessionProvider client={client}>
      <LiveProvider socketFactory={(url) => new FakeSocket(url) as unknown as WebSocket}>
        <BatchBar />
        {open && <ApplyToAlbum albumId="a1" albumName="Holidays" onClose={() => (setOpen(false), onClose())} />}
      </LiveProvider>
    </SessionProvider>
  );
}

describe("ApplyToAlbum", () => {
  it("creates one job per image of every page, each with its own idempotency key, and reports refusals", async () => {
    storeTokens();
    let n = 0;
    const { fetch, calls } = scriptedFetch((url, init) => {
      if (url === "/api/auth/me") return json(200, USER);
      if (url === "/api/models") return json(200, { items: MODELS });
      if (url === "/api/images?album_id=a1&limit=100") return json(200, { items: [img(1), img(2)], next_cursor: "c2" });
      if (url === "/api/images?album_id=a1&limit=100&cursor=c2") return json(200, { items: [img(3)], next_cursor: null });
      if (url === "/api/jobs" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        if (body.image_id === "img-2") return json(422, { error: { code: "too_large", message: "The result would be too large." } });
        n += 1;
        return json(202, { id: `j${n}`, image_id: body.image_id, type: body.type, options: body.options, status: "queued", progress: 0, engine: null, error: null, attempt: 1, created_at: "", updated_at: "" });
      }
      return undefined;
    });
    const onClose = vi.fn();
    render(<Harness client={new ApiClient(window.localStorage, fetch)} onClose={onClose} />);
    await userEvent.selectOptions(await screen.findByLabelText("Select type"), "sr");
    await userEvent.selectOptions(screen.getByLabelText("Scale"), "2");
    await userEvent.click(screen.getByRole("button", { name: "Run on whole album" }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());

    const posts = calls.filter((c) => c.url === "/api/jobs" && c.method === "POST");
    expect(posts.map((c) => (c.body as { image_id: string }).image_id).sort()).toEqual(["img-1", "img-2", "img-3"]);
    expect(posts.every((c) => (c.body as { type: string; options: unknown }).type === "sr")).toBe(true);
    expect(posts.every((c) => JSON.stringify((c.body as { options: unknown }).options) === JSON.stringify({ scale: 2 }))).toBe(true);
    const keys = posts.map((c) => c.headers["Idempotency-Key"]);
    expect(new Set(keys).size).toBe(3);
    const bar = screen.getByRole("region", { name: /Album progress: SR, Scale ×2 on “Holidays”/ });
    expect(bar).toHaveTextContent("0 of 3 done, 1 not started");
  });

  it("runs several types on the whole album as one batch, with the chosen format", async () => {
    storeTokens();
    let n = 0;
    const { fetch, calls } = scriptedFetch((url, init) => {
      if (url === "/api/auth/me") return json(200, USER);
      if (url === "/api/models") return json(200, { items: MODELS });
      if (url === "/api/images?album_id=a1&limit=100") return json(200, { items: [img(1), img(2)], next_cursor: null });
      if (url === "/api/jobs" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        n += 1;
        return json(202, { id: `j${n}`, image_id: body.image_id, type: body.type, options: body.options, status: "queued", progress: 0, engine: null, error: null, attempt: 1, created_at: "", updated_at: "" });
      }
      return undefined;
    });
    const onClose = vi.fn();
    render(<Harness client={new ApiClient(window.localStorage, fetch)} onClose={onClose} />);
    await userEvent.selectOptions(await screen.findByLabelText("Select type"), "sr");
    await userEvent.selectOptions(screen.getByLabelText("Result format"), "jpeg");
    await userEvent.click(screen.getByLabelText(/Flatten transparency/));
    await userEvent.click(screen.getByRole("button", { name: "Add another type to this run" }));
    await userEvent.selectOptions(screen.getByLabelText("Select type"), "none");
    await userEvent.click(screen.getByRole("button", { name: "Run on whole album" }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());

    const bodies = calls.filter((c) => c.url === "/api/jobs" && c.method === "POST").map((c) => c.body as Record<string, never>);
    expect(bodies.map((b) => `${b.image_id} ${b.type}`).sort()).toEqual(["img-1 none", "img-1 sr", "img-2 none", "img-2 sr"]);
    expect(new Set(bodies.map((b) => JSON.stringify(b.batch))).size).toBe(1);
    expect((bodies[0].batch as { size: number }).size).toBe(4);
    expect(bodies.every((b) => JSON.stringify(b.output) === JSON.stringify({ format: "jpeg", quality: 90, flatten: true }))).toBe(true);
    expect(screen.getByRole("region", { name: /Album progress: SR, Scale ×4, JPEG q90 \+ None, JPEG q90 on “Holidays”/ })).toHaveTextContent("0 of 4 done");
  });

  it("says so when the album is empty and when the list cannot be read", async () => {
    storeTokens();
    let broken = false;
    const { fetch } = scriptedFetch((url) => {
      if (url === "/api/auth/me") return json(200, USER);
      if (url === "/api/models") return json(200, { items: MODELS });
      if (url.startsWith("/api/images?")) return broken ? json(500, {}) : json(200, { items: [], next_cursor: null });
      return undefined;
    });
    render(<Harness client={new ApiClient(window.localStorage, fetch)} onClose={vi.fn()} />);
    await screen.findByLabelText("Select type");
    await userEvent.click(screen.getByRole("button", { name: "Run on whole album" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This album has no images yet.");
    broken = true;
    await userEvent.click(screen.getByRole("button", { name: "Run on whole album" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent(/Something went wrong on the server \(500\)/));
  });
});
