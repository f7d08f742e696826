// Same-size thumbnails, newest first, virtualised: only the rows on screen (and a few around them) are in the
// page, so a thumbnail is requested when it scrolls into view, its request is aborted when it scrolls past
// before arriving, and a 1,500-photo album holds a few dozen <img> elements instead of 1,500. The next page of
// the list is fetched as its end comes near.
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { ImageItem } from "../api/types";
import { Link } from "../router";
import { AuthImage } from "./AuthImage";

const OVERSCAN_ROWS = 2;

interface Layout {
  columns: number;
  cell: number;
  gap: number;
  rowHeight: number;
}

function layoutFor(width: number): Layout {
  // Without layout (tests, a hidden page) assume a desktop width.
  const w = width > 0 ? width : 1000;
  const phone = w < 700;
  const min = phone ? 104 : 160;
  const gap = phone ? 6 : 10;
  const columns = Math.max(1, Math.floor((w + gap) / (min + gap)));
  const cell = (w - gap * (columns - 1)) / columns;
  return { columns, cell, gap, rowHeight: cell + gap };
}

const Thumb = memo(function Thumb({ image, index, total }: { image: ImageItem; index: number; total: number }) {
  return (
    <li aria-posinset={index + 1} aria-setsize={total}>
      <Link href={`/images/${image.id}`} className="thumb" title={image.filename} aria-label={image.filename}>
        <AuthImage path={`/api/images/${image.id}/thumbnail`} alt={image.filename} decoding="async" />
      </Link>
    </li>
  );
});

export function ImageGrid({
  images,
  hasMore,
  loading,
  onLoadMore,
  restoreScrollY = null,
  total,
}: {
  images: ImageItem[];
  hasMore: boolean;
  loading: boolean;
  onLoadMore(): void;
  /** Scroll the window here once the grid can be that tall (coming back to a gallery). */
  restoreScrollY?: number | null;
  /** How many images there are in all, when known. */
  total?: number;
}) {
  const list = useRef<HTMLUListElement>(null);
  const [width, setWidth] = useState(0);
  const [rows, setRows] = useState({ first: 0, last: 6 });
  const restored = useRef(restoreScrollY === null);
  const [retry, setRetry] = useState(0);
  const { columns, cell, gap, rowHeight } = layoutFor(width);
  const rowCount = Math.ceil(images.length / columns);

  useLayoutEffect(() => {
    const node = list.current;
    if (!node) return;
    setWidth(node.clientWidth);
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => setWidth(node.clientWidth));
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const measure = useCallback(() => {
    const node = list.current;
    if (!node) return;
    const top = node.getBoundingClientRect().top;
    const first = Math.max(0, Math.floor(-top / rowHeight) - OVERSCAN_ROWS);
    const last = Math.max(first, Math.ceil((window.innerHeight - top) / rowHeight) + OVERSCAN_ROWS);
    setRows((r) => (r.first === first && r.last === last ? r : { first, last }));
  }, [rowHeight]);

  useLayoutEffect(() => {
    measure();
    let frame = 0;
    const onScroll = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(measure);
    };
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", onScroll);
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener("scroll", onScroll);
      window.removeEventListener("resize", onScroll);
    };
  }, [measure, images.length]);

  // Back to where this gallery was left, once the grid is laid out. While the page is still shorter than that
  // (the rows above it laid out a frame late on a busy machine), try again as it grows, for a moment only:
  // after that the person's own scrolling wins.
  const restoreUntil = useRef(0);
  useLayoutEffect(() => {
    if (restored.current || width === 0 || restoreScrollY === null) return;
    if (!restoreUntil.current) restoreUntil.current = performance.now() + 2000;
    window.scrollTo(0, restoreScrollY);
    measure();
    const short = window.scrollY < restoreScrollY - 1;
    if (!short || performance.now() > restoreUntil.current) {
      restored.current = true;
      return;
    }
    const frame = requestAnimationFrame(() => setRetry((n) => n + 1));
    return () => cancelAnimationFrame(frame);
  }, [width, restoreScrollY, measure, rowCount, retry]);

  // The next page when the rows near the end are on screen.
  const nearEnd = rows.last >= rowCount - OVERSCAN_ROWS - 1;
  useEffect(() => {
    if (nearEnd && hasMore && !loading) onLoadMore();
  }, [nearEnd, hasMore, loading, onLoadMore, images.length]);

  const firstRow = Math.min(rows.first, Math.max(0, rowCount - 1));
  const start = firstRow * columns;
  const end = Math.min(images.length, (rows.last + 1) * columns);
  const setSize = hasMore ? total ?? -1 : images.length;
  const height = rowCount ? rowCount * rowHeight - gap : 0;

  return (
    <>
      <ul
        ref={list}
        className="grid"
        aria-label="Images"
        aria-busy={loading}
        style={{
          gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
          gridAutoRows: cell,
          gap,
          alignContent: "start",
          boxSizing: "border-box",
          paddingTop: firstRow * rowHeight,
          height,
        }}
      >
        {images.slice(start, end).map((image, i) => (
          <Thumb key={image.id} image={image} index={start + i} total={setSize} />
        ))}
      </ul>
      <div className="grid-end">
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
