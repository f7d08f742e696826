// One upload queue for the whole signed-in session: files dropped anywhere in the page or chosen in a drop zone
// go through it, a few at a time, each cancellable and retryable; it outlives navigation, warns before the page
// is left with uploads running, and is dropped with everything else of the person on sign-out.
//
// Progress changes notify only the progress bar of that file (useUploadProgress); the list re-renders when a
// file changes status, and pages hear of new images through onUploaded: nothing else re-renders while bytes go.
import { createContext, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from "react";
import { isAbort, type ApiClient } from "../api/client";
import type { ImageItem } from "../api/types";
import { useSession } from "./session";

export const MAX_BYTES = 50 * 1024 * 1024;
export const CONCURRENCY = 3;
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif|avif)$/i;

export type UploadStatus = "waiting" | "uploading" | "done" | "refused" | "failed" | "cancelled";

export interface UploadItem {
  key: number;
  name: string;
  size: number;
  status: UploadStatus;
  /** Why it was refused or failed. */
  message?: string;
  /** Refused in the page (not an image, too large): sending it again would not help. */
  final?: boolean;
}

interface Entry {
  item: UploadItem;
  file: File;
  albumId: string | null;
  progress: number;
  controller: AbortController | null;
  progressListeners: Set<() => void>;
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

type Uploader = Pick<ApiClient, "upload">;

export class UploadQueue {
  private entries: Entry[] = [];
  private items: UploadItem[] = [];
  private nextKey = 1;
  private running = 0;
  private listeners = new Set<() => void>();
  private uploadedListeners = new Set<(images: ImageItem[]) => void>();
  private stopped = false;

  constructor(
    private readonly client: Uploader,
    private readonly concurrency = CONCURRENCY,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The files, in the order added; a new array whenever one changes status. */
  getItems = (): UploadItem[] => this.items;

  /** Called with the images of each finished upload (any page that shows them adds them). */
  onUploaded(listener: (images: ImageItem[]) => void): () => void {
    this.uploadedListeners.add(listener);
    return () => this.uploadedListeners.delete(listener);
  }

  get busy(): boolean {
    return this.entries.some((e) => e.item.status === "waiting" || e.item.status === "uploading");
  }

  progress(key: number): number {
    return this.entries.find((e) => e.item.key === key)?.progress ?? 0;
  }

  subscribeProgress(key: number, listener: () => void): () => void {
    const entry = this.entries.find((e) => e.item.key === key);
    entry?.progressListeners.add(listener);
    return () => entry?.progressListeners.delete(listener);
  }

  add(files: File[], albumId: string | null): void {
    if (this.stopped) return;
    // Finished rows of earlier drops make room for the new ones.
    this.entries = this.entries.filter((e) => e.item.status === "waiting" || e.item.status === "uploading");
    for (const file of files) {
      const refusal = precheck(file);
      this.entries.push({
        item: {
          key: this.nextKey++,
          name: file.name,
          size: file.size,
          status: refusal ? "refused" : "waiting",
          message: refusal ?? undefined,
          final: refusal ? true : undefined,
        },
        file,
        albumId,
        progress: 0,
        controller: null,
        progressListeners: new Set(),
      });
    }
    this.changed();
    this.pump();
  }

  cancel(key: number): void {
    const entry = this.entries.find((e) => e.item.key === key);
    if (!entry || (entry.item.status !== "waiting" && entry.item.status !== "uploading")) return;
    entry.controller?.abort();
    this.set(entry, { status: "cancelled", message: undefined });
    this.pump();
  }

  retry(key: number): void {
    const entry = this.entries.find((e) => e.item.key === key);
    if (!entry || entry.item.final || !["failed", "refused", "cancelled"].includes(entry.item.status)) return;
    entry.progress = 0;
    this.set(entry, { status: "waiting", message: undefined });
    this.pump();
  }

  /** Forget the finished rows. */
  clear(): void {
    this.entries = this.entries.filter((e) => e.item.status === "waiting" || e.item.status === "uploading");
    this.changed();
  }

  /** Sign-out: abort everything and forget it. */
  stop(): void {
    this.stopped = true;
    for (const e of this.entries) e.controller?.abort();
    this.entries = [];
    this.changed();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency) {
      const entry = this.entries.find((e) => e.item.status === "waiting");
      if (!entry) return;
      this.start(entry);
    }
  }

  private start(entry: Entry): void {
    const controller = new AbortController();
    entry.controller = controller;
    this.running += 1;
    this.set(entry, { status: "uploading" });
    const onProgress = (p: number) => {
      entry.progress = p;
      entry.progressListeners.forEach((l) => l());
    };
    this.client
      .upload(entry.file, entry.albumId, onProgress, controller.signal)
      .then(
        (result) => {
          if (controller.signal.aborted) return;
          const refused = result.rejected?.[0];
          if (refused) this.set(entry, { status: "refused", message: refused.error.message, final: true });
          else {
            onProgress(1);
            this.set(entry, { status: "done" });
          }
          if (result.images?.length) this.uploadedListeners.forEach((l) => l(result.images));
        },
        (error: Error) => {
          if (isAbort(error) || controller.signal.aborted) return;
          const status = (error as { status?: number }).status ?? 0;
          // A 4xx about the file itself will not change on a second try; the rest (network, 5xx, 429) may.
          const final = status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429;
          this.set(entry, { status: final ? "refused" : "failed", message: error.message, final: final || undefined });
        },
      )
      .finally(() => {
        this.running -= 1;
        if (entry.controller === controller) entry.controller = null;
        this.pump();
      });
  }

  private set(entry: Entry, change: Partial<UploadItem>): void {
    entry.item = { ...entry.item, ...change };
    this.changed();
  }

  private changed(): void {
    this.items = this.entries.map((e) => e.item);
    this.listeners.forEach((l) => l());
  }
}

const UploadsContext = createContext<UploadQueue | null>(null);

export function UploadsProvider({ children, queue: given }: { children: ReactNode; queue?: UploadQueue }) {
  const { client } = useSession();
  const queue = useMemo(() => given ?? new UploadQueue(client), [given, client]);
  useEffect(() => () => queue.stop(), [queue]);

  // Leaving or reloading the page would abort the uploads still going: the browser asks first.
  const items = useSyncExternalStore(queue.subscribe, queue.getItems);
  const busy = items.some((i) => i.status === "waiting" || i.status === "uploading");
  useEffect(() => {
    if (!busy) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [busy]);

  return <UploadsContext.Provider value={queue}>{children}</UploadsContext.Provider>;
}

export function useUploadQueue(): UploadQueue {
  const queue = useContext(UploadsContext);
  if (!queue) throw new Error("useUploadQueue outside UploadsProvider");
  return queue;
}

export function useUploadItems(): UploadItem[] {
  const queue = useUploadQueue();
  return useSyncExternalStore(queue.subscribe, queue.getItems);
}

export function useUploadProgress(key: number): number {
  const queue = useUploadQueue();
  return useSyncExternalStore(
    (l) => queue.subscribeProgress(key, l),
    () => queue.progress(key),
  );
}
