import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/client";
import type { ImageItem, UploadResult } from "../api/types";
import { DropZone } from "./DropZone";
import { UploadList, useUploads } from "./Uploads";

function image(name: string): ImageItem {
  return { id: `id-${name}`, album_id: null, filename: name, width: 10, height: 10, content_type: "image/png", size_bytes: 3, created_at: "" };
}

function Harness({ client, onUploaded }: { client: Pick<ApiClient, "upload">; onUploaded(images: ImageItem[]): void }) {
  const uploads = useUploads(client as ApiClient, onUploaded);
  return (
    <>
      <DropZone onFiles={(files) => uploads.add(files, "album-1")} />
      <UploadList items={uploads.items} onClear={uploads.clear} />
    </>
  );
}

function file(name: string, type: string, size = 3): File {
  const f = new File(["abc"], name, { type });
  Object.defineProperty(f, "size", { value: size });
  return f;
}

describe("uploads", () => {
  it("uploads each file with its own progress and explains the refused ones without losing the others", async () => {
    let finishPhoto: (r: UploadResult) => void = () => undefined;
    const upload = vi.fn((f: File, _album: string | null, onProgress: (p: number) => void) => {
      if (f.name === "photo.jpg") {
        onProgress(0.5);
        return new Promise<UploadResult>((resolve) => (finishPhoto = resolve));
      }
      if (f.name === "broken.png") return Promise.reject(new ApiError(415, "unsupported_type", "The file could not be read as an image."));
      return Promise.resolve({ images: [image(f.name)], rejected: [] });
    });
    const onUploaded = vi.fn();
    render(<Harness client={{ upload }} onUploaded={onUploaded} />);

    // A picker can still hand over other files ("All files"), and so can a drop.
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

    // Refused files never reach the server; the others go to the album they were dropped in.
    expect(upload.mock.calls.map((c) => c[0].name).sort()).toEqual(["broken.png", "cat.webp", "photo.jpg"]);
    expect(upload.mock.calls.every((c) => c[1] === "album-1")).toBe(true);

    await act(async () => finishPhoto({ images: [image("photo.jpg")], rejected: [] }));
    expect(within(row("photo.jpg")).getByText("Uploaded")).toBeInTheDocument();
    expect(onUploaded).toHaveBeenCalledTimes(2);
    expect(screen.getByRole("status")).toHaveTextContent("2 uploaded, 3 refused");
  });

  it("shows a file the server lists as rejected with the server's reason", async () => {
    const upload = vi.fn(async (f: File) => ({
      images: [],
      rejected: [{ filename: f.name, error: { code: "too_many_pixels", message: "The image is larger than 50 megapixels." } }],
    }));
    render(<Harness client={{ upload }} onUploaded={vi.fn()} />);
    await userEvent.upload(screen.getByLabelText("Click or drop here"), [file("panorama.jpg", "image/jpeg")]);
    expect(await screen.findByText("Refused: The image is larger than 50 megapixels.")).toBeInTheDocument();
  });

  it("takes files dropped on the zone", async () => {
    const onFiles = vi.fn();
    render(<DropZone onFiles={onFiles} />);
    const zone = screen.getByTestId("dropzone");
    const dropped = [file("a.png", "image/png"), file("b.png", "image/png")];
    const dataTransfer = { files: dropped, types: ["Files"], dropEffect: "none" };
    const { fireEvent } = await import("@testing-library/react");
    fireEvent.dragEnter(zone, { dataTransfer });
    expect(zone).toHaveClass("dropzone-over");
    fireEvent.drop(zone, { dataTransfer });
    expect(onFiles).toHaveBeenCalledWith(dropped);
    expect(zone).not.toHaveClass("dropzone-over");
  });
});
