// The upload queue's list: each file with its progress, cancel and retry; refused files explained.
import { memo } from "react";
import { formatBytes, useUploadItems, useUploadProgress, useUploadQueue, type UploadItem } from "../state/uploads";

export { formatBytes, MAX_BYTES, precheck } from "../state/uploads";

const Progress = memo(function Progress({ item }: { item: UploadItem }) {
  const progress = useUploadProgress(item.key);
  return (
    <progress
      max={1}
      value={item.status === "waiting" ? undefined : progress}
      aria-label={item.status === "waiting" ? `${item.name}: waiting` : `Uploading ${item.name}`}
    />
  );
});

export function UploadPanel() {
  const queue = useUploadQueue();
  const items = useUploadItems();
  if (!items.length) return null;
  const done = items.filter((i) => i.status === "done").length;
  const refused = items.filter((i) => i.status === "refused").length;
  const failed = items.filter((i) => i.status === "failed").length;
  const cancelled = items.filter((i) => i.status === "cancelled").length;
  const busy = items.some((i) => i.status === "uploading" || i.status === "waiting");
  const counted = items.length - refused - cancelled;
  return (
    <section className="uploads" aria-label="Uploads">
      <div className="uploads-head">
        <p role="status">
          {busy ? `Uploading… ${done} of ${counted} done` : `${done} uploaded`}
          {refused ? `, ${refused} refused` : ""}
          {failed ? `, ${failed} failed` : ""}
          {cancelled ? `, ${cancelled} cancelled` : ""}
        </p>
        {!busy && (
          <button type="button" className="btn-link" onClick={() => queue.clear()}>
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
            ) : item.status === "failed" ? (
              <span className="upload-reason">Failed: {item.message}</span>
            ) : item.status === "cancelled" ? (
              <span className="upload-reason upload-cancelled">Cancelled</span>
            ) : item.status === "done" ? (
              <span className="upload-ok">Uploaded</span>
            ) : (
              <Progress item={item} />
            )}
            <span className="upload-actions">
              {(item.status === "waiting" || item.status === "uploading") && (
                <button type="button" className="btn btn-small" onClick={() => queue.cancel(item.key)} aria-label={`Cancel upload of ${item.name}`}>
                  Cancel
                </button>
              )}
              {!item.final && (item.status === "failed" || item.status === "cancelled" || item.status === "refused") && (
                <button type="button" className="btn btn-small" onClick={() => queue.retry(item.key)} aria-label={`Retry upload of ${item.name}`}>
                  Retry
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
