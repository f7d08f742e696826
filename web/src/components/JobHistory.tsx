// Earlier jobs on one image: type, options, engine, time, status; view, cancel or retry each.
import { errorText, formatEta, isTerminal, type Job, type Model } from "../api/types";
import { describeOptions } from "../state/models";

const STATUS_TEXT: Record<Job["status"], string> = {
  queued: "Waiting",
  running: "Running",
  completed: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function JobHistory({
  jobs,
  models,
  viewing,
  onView,
  onCancel,
  onRetry,
  error = null,
  loading = false,
  onReload,
}: {
  /** Why the history could not be loaded: then the list says so instead of "no enhancements yet". */
  error?: string | null;
  loading?: boolean;
  onReload?(): void;
  jobs: Job[];
  models: Model[];
  viewing: string | null;
  onView(job: Job): void;
  onCancel(job: Job): void;
  onRetry(job: Job): void;
}) {
  if (error) {
    return (
      <p className="error" role="alert">
        The history could not be loaded: {error}{" "}
        {onReload && (
          <button type="button" className="btn-link" onClick={onReload}>
            Try again
          </button>
        )}
      </p>
    );
  }
  if (!jobs.length && loading) return <span className="spinner" role="status" aria-label="Loading the history" />;
  if (!jobs.length) return <p className="hint">No enhancements yet on this image.</p>;
  return (
    // Focusable so that a keyboard can scroll a table wider than a phone.
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Earlier jobs">
      <table className="history">
        <caption className="visually-hidden">Earlier jobs on this image</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Options</th>
            <th scope="col">Engine</th>
            <th scope="col">Time</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const model = models.find((m) => m.type === job.type);
            const label = model?.label ?? job.type;
            return (
              <tr key={job.id} aria-current={viewing === job.id ? "true" : undefined}>
                <td>{label}</td>
                <td>{describeOptions(model, job.options)}</td>
                <td>{job.engine ?? "—"}</td>
                <td>
                  <time dateTime={job.created_at}>{formatTime(job.created_at)}</time>
                </td>
                <td>
                  <span className={`status status-${job.status}`}>
                    {STATUS_TEXT[job.status] ?? job.status}
                    {job.status === "running" ? ` ${Math.round((job.progress ?? 0) * 100)}%` : ""}
                    {!isTerminal(job.status) && formatEta(job.eta_seconds) ? `, ${formatEta(job.eta_seconds)}` : ""}
                  </span>
                  {job.status === "failed" && job.error && <span className="status-error">{errorText(job.error)}</span>}
                  {job.status === "completed" &&
                    job.notes?.map((note) => (
                      <span key={note} className="status-note">
                        {note}
                      </span>
                    ))}
                </td>
                <td className="row-actions">
                  {job.status === "completed" && (
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => onView(job)}
                      aria-label={`${viewing === job.id ? "Viewing" : "View"} ${label} result from ${formatTime(job.created_at)}`}
                      disabled={viewing === job.id}
                    >
                      {viewing === job.id ? "Viewing" : "View"}
                    </button>
                  )}
                  {!isTerminal(job.status) && (
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => onCancel(job)}
                      aria-label={`Cancel ${label} job`}
                    >
                      Cancel
                    </button>
                  )}
                  {(job.status === "failed" || job.status === "cancelled") && (
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => onRetry(job)}
                      aria-label={`Retry ${label} job`}
                    >
                      Retry
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
