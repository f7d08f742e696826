import { describe, expect, it } from "vitest";
import type { ImageItem } from "../api/types";
import { GalleryCache } from "./gallery";

const img = (id: string, album_id: string | null): ImageItem => ({ id, album_id, filename: `${id}.jpg`, width: 4, height: 3, content_type: "image/jpeg", size_bytes: 9, created_at: "" });
const state = (images: ImageItem[]) => ({ images, cursor: null, loaded: true, scrollY: 120 });

describe("GalleryCache after delete and move", () => {
  it("drops a deleted image from every gallery and moves a moved one out of its old album", () => {
    const cache = new GalleryCache();
    cache.set("all", state([img("x", "a1"), img("y", "a1")]));
    cache.set("a1", state([img("x", "a1"), img("y", "a1")]));
    cache.set("a2", state([img("z", "a2")]));

    cache.removed("y");
    expect(cache.get("all")?.images.map((i) => i.id)).toEqual(["x"]);
    expect(cache.get("a1")?.images.map((i) => i.id)).toEqual(["x"]);

    cache.moved(img("x", "a2"));
    expect(cache.get("a1")?.images).toEqual([]);
    expect(cache.get("all")?.images[0].album_id).toBe("a2");
    // The new album loads its list again, in its own order.
    expect(cache.get("a2")).toBeUndefined();
    expect(cache.get("all")?.scrollY).toBe(120);
  });
});
