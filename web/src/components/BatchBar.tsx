// Overall progress of "apply to album" runs, visible on every page.
import { isTerminal } from "../api/types";
import { useJobStoreVersion, useLive } from "../state/live";

export function BatchBar() {
  const { batches, store, dismissBatch } = useLive();
  useJobStoreVersion();
  if (!batches.length) return null;
  return (
    <div className="batches">
      {batches.map((batch) => {
        const jobs = batch.jobIds.map((id) => store.get(id));
        const done = jobs.filter((j) => j && isTerminal(j.status)).length;
        const failed = jobs.filter((j) => j && (j.status === "failed" || j.status === "cancelled")).length;
        // Running jobs count by their own progress so the bar moves smoothly.
        const partial = jobs.reduce((sum, j) => sum + (j && !isTerminal(j.status) ? j.progress ?? 0 : 0), 0);
        const value = batch.total ? (done + partial + batch.refused.length) / batch.total : 0;
        const finished = !batch.submitting && done === batch.jobIds.length;
        return (
          <section key={batch.id} className="batch" aria-label={`Album progress: ${batch.label}`}>
            <div className="batch-text">
              <strong>{batch.label}</strong>
              <span role="status">
                {finished ? "Finished: " : batch.submitting ? "Starting… " : ""}
                {done - failed} of {batch.total} done
                {failed ? `, ${failed} failed` : ""}
                {batch.refused.length ? `, ${batch.refused.length} not started` : ""}
              </span>
            </div>
            <progress max={1} value={Math.min(1, value)} aria-label={`Overall progress for ${batch.label}`} />
            {finished && (
              <button type="button" className="btn-icon" aria-label="Dismiss album progress" onClick={() => dismissBatch(batch.id)}>
                ×
              </button>
            )}
          </section>
        );
      })}
    </div>
  );
}
