// "Click or drop here": a file input that hands over a list of files. Drops anywhere in the page (this box
// included) are taken by the page-wide drop target (PageDrop).
import { useId } from "react";

export function DropZone({ onFiles, compact = false }: { onFiles(files: File[]): void; compact?: boolean }) {
  const id = useId();
  return (
    <div className={`dropzone${compact ? " dropzone-compact" : ""}`} data-testid="dropzone">
      <input
        id={id}
        className="visually-hidden"
        type="file"
        multiple
        accept="image/*"
        aria-describedby={`${id}-hint`}
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = "";
          if (files.length) onFiles(files);
        }}
      />
      <label htmlFor={id} className="dropzone-label">
        <svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28">
          <path
            d="M12 16V4m0 0-4.5 4.5M12 4l4.5 4.5M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.8"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
        <span className="dropzone-title">Click or drop here</span>
      </label>
      <span id={`${id}-hint`} className="hint">
        Photos or drawings (JPEG, PNG, WebP…), up to 50 MB and 50 megapixels each. Several at once are fine; you can
        also drop them anywhere on the page.
      </span>
    </div>
  );
}
