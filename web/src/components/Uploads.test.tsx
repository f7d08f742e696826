import { act, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState, type ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError } from "../api/client";
import type { ImageItem, UploadResult } from "../api/types";
import { AlbumsProvider } from "../state/albums";
import { SessionProvider } from "../state/session";
import { UploadQueue, UploadsProvider, useUploadQueue } from "../state/uploads";
import { json, scriptedFetch, storeTokens } from "../test/fakes";
import { DropZone } from "./DropZone";
import { PageDrop } from "./PageDrop";
import { UploadPanel } from "./Uploads";

type UploadFn = (f: File, album: string | null, onProgress: (p: number) => void, signal?: AbortSignal) => Promise<UploadResult>;

function image(name: string): ImageItem {
  return { id: `id-${name}`, album_id: null, filename: name, width: 10, height: 10, content_type: "image/png", size_bytes: 3, created_at: "" };
}

function file(name: string, type: string, size = 3): File {
  const f = new File(["abc"], name, { type });
  Object.defineProperty(f, "size", { value: size });
  return f;
}

/** An upload that waits for the test, and fails with AbortError when its signal aborts. */
function controllable() {
  const pending = new Map<string, { resolve(r: UploadResult): void; progress(p: number): void }>();
  const upload = vi.fn<UploadFn>(
    (f, _album, onProgress, signal) =>
      new Promise<UploadResult>((resolve, reject) => {
        pending.set(f.name, { resolve, progress: onProgress });
        signal?.addEventListener("abort", () => reject(new DOMException("Aborted", "AbortError")));
      }),
  );
  return { upload, pending };
}

function Providers({ queue, children }: { queue: UploadQueue; children: ReactNode }) {
  storeTokens();
  const fake = scriptedFetch((url) => (url === "/api/auth/me" ? json(200, { id: "u1", email: "a@b.c", display_name: null, created_at: "" }) : undefined),
    (url) => (url === "/api/albums" ? json(200, { items: [{ id: "album-1", name: "Holidays", image_count: 0, created_at: "" }], next_cursor: null }) : undefined));
  const [client] = useState(() => new ApiClient(window.localStorage, fake.fetch));
  return (
    <SessionProvider client={client}>
      <AlbumsProvider>
        <UploadsProvider queue={queue}>{children}</UploadsProvider>
      </AlbumsProvider>
    </SessionProvider>
  );
}

function Picker({ albumId = "album-1" }: { albumId?: string | null }) {
  const queue = useUploadQueue();
  return <DropZone onFiles={(files) => queue.add(files, albumId)} />;
}

beforeEach(() => window.history.replaceState(null, "", "/"));
afterEach(() => window.localStorage.clear());

describe("upload queue", () => {
  it("uploads each file with its own progress and explains the refused ones without losing the others", async () => {
    let finishPhoto: (r: UploadResult) => void = () => undefined;
    const upload = vi.fn<UploadFn>((f, _album, onProgress) => {
      if (f.name === "photo.jpg") {
        onProgress(0.5);
        return new Promise<UploadResult>((resolve) => (finishPhoto = resolve));
      }
      if (f.name === "broken.png") return Promise.reject(new ApiError(415, "unsupported_type", "The file could not be read as an image."));
      return Promise.resolve({ images: [image(f.name)], rejected: [] });
    });
    const queue = new UploadQueue({ upload } as unknown as ApiClient);
    const uploaded = vi.fn();
    queue.onUploaded(uploaded);
    render(
      <Providers queue={queue}>
        <Picker />
        <UploadPanel />
      </Providers>,
    );

    const user = userEvent.setup({ applyAccept: false });
    await user.upload(screen.getByLabelText("Click or drop here"), [
      file("photo.jpg", "image/jpeg"),
      file("notes.txt", "text/plain"),
      file("huge.png", "image/png", 60 * 1024 * 1024),
      file("broken.png", "image/png"),
      file("cat.webp", "image/webp"),
    ]);

    const list = screen.getByRole("region", { name: "Uploads" });
    const row = (name: string) => within(list).getByText(name).closest("li")!;
    expect(within(row("notes.txt")).getByText(/Refused: Not an image/)).toBeInTheDocument();
    expect(within(row("huge.png")).getByText(/Refused: Too large \(60\.0 MB\)\. The limit is 50 MB\./)).toBeInTheDocument();
    expect(await within(row("broken.png")).findByText("Refused: The file could not be read as an image.")).toBeInTheDocument();
    expect(await within(row("cat.webp")).findByText("Uploaded")).toBeInTheDocument();
    expect(within(row("photo.jpg")).getByRole("progressbar", { name: "Uploading photo.jpg" })).toHaveAttribute("value", "0.5");
    // Files refused for what they are offer no retry.
    expect(within(row("notes.txt")).queryByRole("button", { name: /Retry/ })).toBeNull();
    expect(within(row("broken.png")).queryByRole("button", { name: /Retry/ })).toBeNull();

    expect(upload.mock.calls.map((c) => c[0].name).sort()).toEqual(["broken.png", "cat.webp", "photo.jpg"]);
    expect(upload.mock.calls.every((c) => c[1] === "album-1")).toBe(true);

    await act(async () => finishPhoto({ images: [image("photo.jpg")], rejected: [] }));
    expect(within(row("photo.jpg")).getByText("Uploaded")).toBeInTheDocument();
    expect(uploaded).toHaveBeenCalledTimes(2);
    expect(within(list).getByRole("status")).toHaveTextContent("2 uploaded, 3 refused");
  });

  it("sends at most three at a time; each can be cancelled and retried", async () => {
    const { upload, pending } = controllable();
    const queue = new UploadQueue({ upload } as unknown as ApiClient);
    render(
      <Providers queue={queue}>
        <UploadPanel />
      </Providers>,
    );
    act(() => queue.add(["a.png", "b.png", "c.png", "d.png", "e.png"].map((n) => file(n, "image/png")), null));
    expect(upload).toHaveBeenCalledTimes(3);
    const list = screen.getByRole("region", { name: "Uploads" });
    expect(within(list).getByRole("progressbar", { name: "e.png: waiting" })).toBeInTheDocument();

    // Cancelling a running one aborts its request and lets the next one start.
    await userEvent.click(screen.getByRole("button", { name: "Cancel upload of a.png" }));
    expect(upload.mock.calls[0][3]?.aborted).toBe(true);
    expect(within(within(list).getByText("a.png").closest("li")!).getByText("Cancelled")).toBeInTheDocument();
    expect(upload).toHaveBeenCalledTimes(4);
    // Cancelling a waiting one never sends it.
    await userEvent.click(screen.getByRole("button", { name: "Cancel upload of e.png" }));
    await act(async () => pending.get("b.png")!.resolve({ images: [image("b.png")], rejected: [] }));
    expect(upload.mock.calls.map((c) => c[0].name)).toEqual(["a.png", "b.png", "c.png", "d.png"]);

    // Retry sends it again.
    await userEvent.click(screen.getByRole("button", { name: "Retry upload of a.png" }));
    expect(upload.mock.calls.map((c) => c[0].name)).toEqual(["a.png", "b.png", "c.png", "d.png", "a.png"]);
    await act(async () => pending.get("a.png")!.resolve({ images: [image("a.png")], rejected: [] }));
    expect(within(within(list).getByText("a.png").closest("li")!).getByText("Uploaded")).toBeInTheDocument();
  });

  it("offers a retry when the connection dropped, and it works", async () => {
    let fail = true;
    const upload = vi.fn<UploadFn>(async (f) => {
      if (fail) throw new ApiError(0, "network", "The upload was interrupted. Check your connection.");
      return { images: [image(f.name)], rejected: [] };
    });
    const queue = new UploadQueue({ upload } as unknown as ApiClient);
    render(
      <Providers queue={queue}>
        <UploadPanel />
      </Providers>,
    );
    act(() => queue.add([file("x.png", "image/png")], null));
    expect(await screen.findByText("Failed: The upload was interrupted. Check your connection.")).toBeInTheDocument();
    fail = false;
    await userEvent.click(screen.getByRole("button", { name: "Retry upload of x.png" }));
    expect(await screen.findByText("Uploaded")).toBeInTheDocument();
  });

  it("updates only the file's own progress bar while bytes go, and warns before leaving", async () => {
    const { upload, pending } = controllable();
    const queue = new UploadQueue({ upload } as unknown as ApiClient);
    const gridRendered = vi.fn();
    function GridStandIn() {
      useUploadQueue(); // what the gallery uses: the queue, not its progress
      gridRendered();
      return null;
    }
    render(
      <Providers queue={queue}>
        <GridStandIn />
        <UploadPanel />
      </Providers>,
    );
    act(() => queue.add([file("big.png", "image/png")], null));
    const before = gridRendered.mock.calls.length;
    for (let i = 1; i <= 10; i++) act(() => pending.get("big.png")!.progress(i / 10));
    expect(screen.getByRole("progressbar", { name: "Uploading big.png" })).toHaveAttribute("value", "1");
    expect(gridRendered).toHaveBeenCalledTimes(before);

    const leave = new Event("beforeunload", { cancelable: true });
    window.dispatchEvent(leave);
    expect(leave.defaultPrevented).toBe(true);
    await act(async () => pending.get("big.png")!.resolve({ images: [image("big.png")], rejected: [] }));
    const later = new Event("beforeunload", { cancelable: true });
    window.dispatchEvent(later);
    expect(later.defaultPrevented).toBe(false);
  });

  it("takes files dropped anywhere on the page into the album on screen, and the browser never opens them", async () => {
    const { upload } = controllable();
    const queue = new UploadQueue({ upload } as unknown as ApiClient);
    window.history.replaceState(null, "", "/albums/album-1");
    render(
      <Providers queue={queue}>
        <p>Somewhere else</p>
        <PageDrop />
      </Providers>,
    );
    const dropped = [file("a.png", "image/png"), file("b.png", "image/png")];
    const dataTransfer = { files: dropped, types: ["Files"], dropEffect: "none" };
    const outside = screen.getByText("Somewhere else");
    fireEvent.dragEnter(outside, { dataTransfer });
    expect(await screen.findByText("Drop to upload to “Holidays”")).toBeInTheDocument();
    const over = fireEvent.dragOver(outside, { dataTransfer });
    expect(over).toBe(false); // default prevented: a drop is allowed here, not handed to the browser
    const drop = fireEvent.drop(outside, { dataTransfer });
    expect(drop).toBe(false);
    expect(screen.queryByText(/Drop to upload/)).toBeNull();
    expect(upload.mock.calls.map((c) => [c[0].name, c[1]])).toEqual([
      ["a.png", "album-1"],
      ["b.png", "album-1"],
    ]);
  });

  it("aborts and forgets everything when stopped (sign-out)", () => {
    const { upload } = controllable();
    const queue = new UploadQueue({ upload } as unknown as ApiClient);
    queue.add([file("a.png", "image/png"), file("b.png", "image/png")], null);
    queue.stop();
    expect(upload.mock.calls.every((c) => c[3]?.aborted)).toBe(true);
    expect(queue.getItems()).toEqual([]);
    queue.add([file("c.png", "image/png")], null);
    expect(queue.getItems()).toEqual([]);
  });
});
