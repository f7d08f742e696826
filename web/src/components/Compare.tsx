// Compare any two versions of one image (the original and each completed result): a slider over the two, or the
// two side by side; "Actual size" shows them at the larger one's pixel size and panning moves both together.
import { useId, useRef, useState, type PointerEvent, type ReactNode, type UIEvent } from "react";
import { useAuthBlob } from "../api/blobs";
import { useSession } from "../state/session";

export interface CompareSource {
  /** "original" or a job id. */
  key: string;
  label: string;
  path: string;
}

export function Compare({
  sources,
  left: initialLeft,
  right: initialRight,
  width,
  height,
  name,
}: {
  sources: CompareSource[];
  left: string;
  right: string;
  width: number;
  height: number;
  name: string;
}) {
  const id = useId();
  const { blobs } = useSession();
  const [leftKey, setLeftKey] = useState(initialLeft);
  const [rightKey, setRightKey] = useState(initialRight);
  const leftSource = sources.find((s) => s.key === leftKey) ?? sources[0];
  const rightSource = sources.find((s) => s.key === rightKey) ?? sources[sources.length - 1];
  const before = useAuthBlob(blobs, leftSource?.path ?? null);
  const after = useAuthBlob(blobs, rightSource?.path ?? null);
  const [mode, setMode] = useState<"slider" | "side">("slider");
  const [zoom, setZoom] = useState(false);
  const [natural, setNatural] = useState<Record<string, number>>({});
  const [position, setPosition] = useState(50);
  const ratio = width && height ? `${width} / ${height}` : "4 / 3";
  // At actual size both are drawn as wide as the larger one's pixels (a 4× result at 1:1, the other scaled to match).
  const zoomWidth = Math.max(natural[leftSource?.key ?? ""] ?? 0, natural[rightSource?.key ?? ""] ?? 0, width || 0);
  const zoomStyle = zoom ? { width: `${zoomWidth}px`, maxWidth: "none", aspectRatio: ratio } : { aspectRatio: ratio };

  const measure = (key: string) => (e: { currentTarget: HTMLImageElement }) => {
    const w = e.currentTarget.naturalWidth;
    if (w) setNatural((n) => (n[key] === w ? n : { ...n, [key]: w }));
  };

  const picker = (which: "left" | "right") => (
    <div className="field compare-pick">
      <label htmlFor={`${id}-${which}`}>{which === "left" ? "Left" : "Right"}</label>
      <select
        id={`${id}-${which}`}
        value={which === "left" ? leftSource?.key : rightSource?.key}
        onChange={(e) => (which === "left" ? setLeftKey : setRightKey)(e.target.value)}
      >
        {sources.map((s) => (
          <option key={s.key} value={s.key}>
            {s.label}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <section className="compare" aria-label="Compare before and after">
      <div className="compare-bar">
        <div className="segmented" role="group" aria-label="Comparison view">
          <button type="button" aria-pressed={mode === "slider"} onClick={() => setMode("slider")}>
            Slider
          </button>
          <button type="button" aria-pressed={mode === "side"} onClick={() => setMode("side")}>
            Side by side
          </button>
        </div>
        <button type="button" className="btn btn-small" aria-pressed={zoom} onClick={() => setZoom((z) => !z)}>
          {zoom ? "Fit to screen" : "Actual size (100 %)"}
        </button>
      </div>
      <div className="compare-picks">
        {picker("left")}
        {picker("right")}
      </div>
      {(before.error || after.error) && (
        <p className="error" role="alert">
          An image could not be loaded.
        </p>
      )}
      {mode === "slider" ? (
        <div className="compare-slider-wrap">
          <Pan zoom={zoom} label="Both versions at actual size, scroll or drag to pan">
            <div className="compare-slider" style={zoomStyle}>
              {before.url && (
                <img src={before.url} alt={`${name}, ${leftSource?.label}`} draggable={false} onLoad={measure(leftSource.key)} />
              )}
              {after.url && (
                <img
                  src={after.url}
                  alt={`${name}, ${rightSource?.label}`}
                  draggable={false}
                  className="compare-after"
                  onLoad={measure(rightSource.key)}
                  style={{ clipPath: `inset(0 0 0 ${position}%)` }}
                />
              )}
              {!(before.url && after.url) && <span className="spinner" role="status" aria-label="Loading images" />}
              <span className="compare-divider" style={{ left: `${position}%` }} aria-hidden="true" />
            </div>
          </Pan>
          <span className="compare-tag compare-tag-before" aria-hidden="true">{leftSource?.label}</span>
          <span className="compare-tag compare-tag-after" aria-hidden="true">{rightSource?.label}</span>
          <label htmlFor={`${id}-pos`} className="visually-hidden">
            Before/after position
          </label>
          <input
            id={`${id}-pos`}
            type="range"
            className={zoom ? "compare-range compare-range-bar" : "compare-range"}
            min={0}
            max={100}
            step={1}
            value={position}
            aria-valuetext={`${position}% ${leftSource?.label}, ${100 - position}% ${rightSource?.label}`}
            onChange={(e) => setPosition(Number(e.target.value))}
          />
        </div>
      ) : (
        <div className="compare-side">
          {[
            { source: leftSource, blob: before },
            { source: rightSource, blob: after },
          ].map(({ source, blob }, index) => (
            <figure key={index}>
              <Pan zoom={zoom} label={`${source?.label} at actual size, scroll or drag to pan`}>
                <div className="frame" style={zoomStyle}>
                  {blob.url ? (
                    <img src={blob.url} alt={`${name}, ${source?.label}`} draggable={false} onLoad={measure(source.key)} />
                  ) : (
                    <span className="spinner" />
                  )}
                </div>
              </Pan>
              <figcaption>{source?.label}</figcaption>
            </figure>
          ))}
        </div>
      )}
    </section>
  );
}

/** At actual size, a scrollable pane: dragging pans it, and every pane of the same comparison follows. */
function Pan({ zoom, label, children }: { zoom: boolean; label: string; children: ReactNode }) {
  const drag = useRef<{ x: number; y: number; left: number; top: number } | null>(null);
  if (!zoom) return <div className="compare-fit">{children}</div>;
  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    const from = e.currentTarget;
    const others = from.closest(".compare")?.querySelectorAll<HTMLDivElement>(".compare-pan") ?? [];
    for (const pane of others) {
      if (pane !== from && (pane.scrollLeft !== from.scrollLeft || pane.scrollTop !== from.scrollTop)) {
        pane.scrollLeft = from.scrollLeft;
        pane.scrollTop = from.scrollTop;
      }
    }
  };
  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if ((e.target as HTMLElement).tagName === "INPUT") return;
    drag.current = { x: e.clientX, y: e.clientY, left: e.currentTarget.scrollLeft, top: e.currentTarget.scrollTop };
    e.currentTarget.setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const start = drag.current;
    if (!start) return;
    e.currentTarget.scrollLeft = start.left - (e.clientX - start.x);
    e.currentTarget.scrollTop = start.top - (e.clientY - start.y);
  };
  const end = () => {
    drag.current = null;
  };
  return (
    // A focusable region, so that the arrow keys pan it too.
    <div
      className="compare-pan"
      role="region"
      aria-label={label}
      tabIndex={0}
      onScroll={onScroll}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={end}
      onPointerCancel={end}
    >
      {children}
    </div>
  );
}
