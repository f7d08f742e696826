// Before/after: a slider over the two images, or the two side by side.
import { useId, useState } from "react";
import { useAuthBlob } from "../api/blobs";
import { useSession } from "../state/session";

export function Compare({
  beforePath,
  afterPath,
  afterLabel,
  width,
  height,
  name,
}: {
  beforePath: string;
  afterPath: string;
  afterLabel: string;
  width: number;
  height: number;
  name: string;
}) {
  const id = useId();
  const { blobs } = useSession();
  const before = useAuthBlob(blobs, beforePath);
  const after = useAuthBlob(blobs, afterPath);
  const [mode, setMode] = useState<"slider" | "side">("slider");
  const [position, setPosition] = useState(50);
  const ratio = width && height ? `${width} / ${height}` : "4 / 3";

  return (
    <section className="compare" aria-label="Compare before and after">
      <div className="segmented" role="group" aria-label="Comparison view">
        <button type="button" aria-pressed={mode === "slider"} onClick={() => setMode("slider")}>
          Slider
        </button>
        <button type="button" aria-pressed={mode === "side"} onClick={() => setMode("side")}>
          Side by side
        </button>
      </div>
      {after.error && <p className="error" role="alert">The result could not be loaded.</p>}
      {mode === "slider" ? (
        <div className="compare-slider" style={{ aspectRatio: ratio }}>
          {before.url && <img src={before.url} alt={`${name}, before`} draggable={false} />}
          {after.url && (
            <img
              src={after.url}
              alt={`${name}, after`}
              draggable={false}
              className="compare-after"
              style={{ clipPath: `inset(0 0 0 ${position}%)` }}
            />
          )}
          {!(before.url && after.url) && <span className="spinner" role="status" aria-label="Loading images" />}
          <span className="compare-divider" style={{ left: `${position}%` }} aria-hidden="true" />
          <span className="compare-tag compare-tag-before" aria-hidden="true">Before</span>
          <span className="compare-tag compare-tag-after" aria-hidden="true">After</span>
          <label htmlFor={`${id}-pos`} className="visually-hidden">
            Before/after position
          </label>
          <input
            id={`${id}-pos`}
            type="range"
            min={0}
            max={100}
            step={1}
            value={position}
            aria-valuetext={`${position}% before, ${100 - position}% after`}
            onChange={(e) => setPosition(Number(e.target.value))}
          />
        </div>
      ) : (
        <div className="compare-side">
          <figure>
            <div className="frame" style={{ aspectRatio: ratio }}>
              {before.url ? <img src={before.url} alt={`${name}, before`} /> : <span className="spinner" />}
            </div>
            <figcaption>Before (original)</figcaption>
          </figure>
          <figure>
            <div className="frame" style={{ aspectRatio: ratio }}>
              {after.url ? <img src={after.url} alt={`${name}, after`} /> : <span className="spinner" />}
            </div>
            <figcaption>After ({afterLabel})</figcaption>
          </figure>
        </div>
      )}
    </section>
  );
}
