// Same-size thumbnails, newest first, loading the next page as the end comes into view.
import { useEffect, useRef } from "react";
import type { ImageItem } from "../api/types";
import { Link } from "../router";
import { AuthImage } from "./AuthImage";

export function ImageGrid({
  images,
  hasMore,
  loading,
  onLoadMore,
}: {
  images: ImageItem[];
  hasMore: boolean;
  loading: boolean;
  onLoadMore(): void;
}) {
  const sentinel = useRef<HTMLDivElement>(null);
  const loadMore = useRef(onLoadMore);
  loadMore.current = onLoadMore;

  useEffect(() => {
    const node = sentinel.current;
    if (!node || !hasMore || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) loadMore.current();
      },
      { rootMargin: "600px 0px" },
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, [hasMore, images.length]);

  return (
    <>
      <ul className="grid" aria-label="Images" aria-busy={loading}>
        {images.map((image) => (
          <li key={image.id}>
            <Link href={`/images/${image.id}`} className="thumb" title={image.filename} aria-label={image.filename}>
              <AuthImage path={`/api/images/${image.id}/thumbnail`} alt={image.filename} loading="lazy" decoding="async" />
            </Link>
          </li>
        ))}
      </ul>
      <div ref={sentinel} className="grid-end">
        {loading && <span className="spinner" role="status" aria-label="Loading more images" />}
        {hasMore && !loading && (
          <button type="button" className="btn" onClick={onLoadMore}>
            Load more
          </button>
        )}
      </div>
    </>
  );
}
