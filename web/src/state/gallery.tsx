// What each gallery (all images, or one album) has loaded, and where it was scrolled to: coming back from an
// image shows the same photos at the same place without loading them again. Per signed-in person.
import { createContext, useContext, useEffect, useMemo, type ReactNode } from "react";
import type { ImageItem } from "../api/types";
import { useUploadQueue } from "./uploads";

export interface GalleryState {
  images: ImageItem[];
  cursor: string | null;
  /** Whether the first page arrived (an empty list then means an empty gallery). */
  loaded: boolean;
  scrollY: number;
}

export class GalleryCache {
  private states = new Map<string, GalleryState>();

  get(key: string): GalleryState | undefined {
    return this.states.get(key);
  }

  set(key: string, state: GalleryState): void {
    this.states.set(key, state);
  }

  /** New uploads go to the top of "all images" and of their album, where those were loaded. */
  added(images: ImageItem[]): void {
    for (const [key, state] of this.states) {
      const fresh = images.filter((i) => (key === "all" || i.album_id === key) && !state.images.some((x) => x.id === i.id));
      if (fresh.length) this.states.set(key, { ...state, images: [...fresh, ...state.images] });
    }
  }

  /** A deleted image leaves every gallery; a moved one leaves its old album's and joins its new one's. */
  removed(id: string): void {
    for (const [key, state] of this.states) {
      if (state.images.some((i) => i.id === id)) this.states.set(key, { ...state, images: state.images.filter((i) => i.id !== id) });
    }
  }

  moved(image: ImageItem): void {
    for (const [key, state] of this.states) {
      if (key === "all") this.states.set(key, { ...state, images: state.images.map((i) => (i.id === image.id ? image : i)) });
      else if (key !== image.album_id) this.states.set(key, { ...state, images: state.images.filter((i) => i.id !== image.id) });
      // The new album's list is loaded again when opened, in its own order.
      else this.states.delete(key);
    }
  }

  forget(key: string): void {
    this.states.delete(key);
  }
}

const GalleryContext = createContext<GalleryCache | null>(null);

export function GalleryCacheProvider({ children }: { children: ReactNode }) {
  const cache = useMemo(() => new GalleryCache(), []);
  const queue = useUploadQueue();
  useEffect(() => queue.onUploaded((images) => cache.added(images)), [queue, cache]);
  return <GalleryContext.Provider value={cache}>{children}</GalleryContext.Provider>;
}

export function useGalleryCache(): GalleryCache {
  const cache = useContext(GalleryContext);
  if (!cache) throw new Error("useGalleryCache outside GalleryCacheProvider");
  return cache;
}
