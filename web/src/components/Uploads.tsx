// Per-file upload progress, with refused files explained and the others carrying on.
import { useCallback, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import type { ImageItem } from "../api/types";

export const MAX_BYTES = 50 * 1024 * 1024;
const CONCURRENCY = 3;
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif|avif)$/i;

export interface UploadItem {
  key: number;
  name: string;
  size: number;
  progress: number;
  status: "waiting" | "uploading" | "done" | "refused";
  message?: string;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Why a file is refused before it is sent, or null when it may go. */
export function precheck(file: File): string | null {
  const looksLikeImage = file.type ? file.type.startsWith("image/") : IMAGE_EXT.test(file.name);
  if (!looksLikeImage) return "Not an image. Choose a photo or a picture file.";
  if (file.size > MAX_BYTES) return `Too large (${formatBytes(file.size)}). The limit is 50 MB.`;
  if (file.size === 0) return "The file is empty.";
  return null;
}

export function useUploads(client: ApiClient, onUploaded: (images: ImageItem[]) => void) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const nextKey = useRef(1);
  const queue = useRef<{ key: number; file: File; albumId: string | null }[]>([]);
  const running = useRef(0);

  const update = (key: number, change: Partial<UploadItem>) =>
    setItems((list) => list.map((it) => (it.key === key ? { ...it, ...change } : it)));

  const pump = useCallback(() => {
    while (running.current < CONCURRENCY && queue.current.length) {
      const { key, file, albumId } = queue.current.shift()!;
      running.current += 1;
      update(key, { status: "uploading" });
      client
        .upload(file, albumId, (p) => update(key, { progress: p }))
        .then(
          (result) => {
            const refused = result.rejected?.[0];
            if (refused) update(key, { status: "refused", message: refused.error.message });
            else update(key, { status: "done", progress: 1 });
            if (result.images?.length) onUploaded(result.images);
          },
          (error: Error) => update(key, { status: "refused", message: error.message }),
        )
        .finally(() => {
          running.current -= 1;
          pump();
        });
    }
  }, [client, onUploaded]);

  const add = useCallback(
    (files: File[], albumId: string | null) => {
      const added: UploadItem[] = files.map((file) => {
        const key = nextKey.current++;
        const refusal = precheck(file);
        if (!refusal) queue.current.push({ key, file, albumId });
        return {
          key,
          name: file.name,
          size: file.size,
          progress: 0,
          status: refusal ? "refused" : "waiting",
          message: refusal ?? undefined,
        };
      });
      setItems((list) => [...list.filter((it) => it.status === "uploading" || it.status === "waiting"), ...added]);
      pump();
    },
    [pump],
  );

  const clear = useCallback(() => setItems((list) => list.filter((it) => it.status === "uploading" || it.status === "waiting")), []);

  return { items, add, clear };
}

export function UploadList({ items, onClear }: { items: UploadItem[]; onClear(): void }) {
  if (!items.length) return null;
  const done = items.filter((i) => i.status === "done").length;
  const refused = items.filter((i) => i.status === "refused").length;
  const busy = items.some((i) => i.status === "uploading" || i.status === "waiting");
  return (
    <section className="uploads" aria-label="Uploads">
      <div className="uploads-head">
        <p role="status" aria-live="polite">
          {busy ? `Uploading… ${done} of ${items.length - refused} done` : `${done} uploaded`}
          {refused ? `, ${refused} refused` : ""}
        </p>
        {!busy && (
          <button type="button" className="btn-link" onClick={onClear}>
            Clear list
          </button>
        )}
      </div>
      <ul>
        {items.map((item) => (
          <li key={item.key} className={`upload upload-${item.status}`}>
            <span className="upload-name" title={item.name}>
              {item.name}
            </span>
            <span className="upload-size">{formatBytes(item.size)}</span>
            {item.status === "refused" ? (
              <span className="upload-reason">Refused: {item.message}</span>
            ) : item.status === "done" ? (
              <span className="upload-ok">Uploaded</span>
            ) : (
              <progress
                max={1}
                value={item.progress}
                aria-label={`Uploading ${item.name}`}
              />
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
