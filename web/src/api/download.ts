import { fetchWhenReady } from "./blobs";
import type { ApiClient } from "./client";

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

/** Save an authenticated resource under a file name; with `stem`, the extension follows what the server sent. */
export async function download(client: ApiClient, path: string, filename: string, stem = false): Promise<void> {
  const blob = await fetchWhenReady(client, path);
  if (stem) filename = `${filename}.${EXTENSIONS[blob.type.split(";")[0]] ?? "png"}`;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function baseName(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot > 0 ? filename.slice(0, dot) : filename;
}
