// One or more types for every image of an album: one job per image and type, all in one batch {id, size}.
import { useState } from "react";
import { newIdempotencyKey } from "../api/client";
import type { ImageItem, Job, Page } from "../api/types";
import { useLive } from "../state/live";
import { useModels } from "../state/models";
import { useSession } from "../state/session";
import { choiceLabel, jobBodies, newBatch, RunPlanFields, useRunPlan } from "./RunPlan";

const PARALLEL = 4;

export function ApplyToAlbum({ albumId, albumName, onClose }: { albumId: string; albumName: string; onClose(): void }) {
  const { client } = useSession();
  const live = useLive();
  const { models, error } = useModels(client);
  const runPlan = useRunPlan(models);
  const { plan } = runPlan;
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const runnable = plan.choices.length > 0 && plan.choices.every((c) => models?.find((m) => m.type === c.type)?.available);

  const run = async () => {
    if (!plan.choices.length || !models) return;
    setBusy(true);
    setMessage(null);
    try {
      const images: ImageItem[] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ album_id: albumId, limit: "100" });
        if (cursor) query.set("cursor", cursor);
        const page: Page<ImageItem> = await client.get<Page<ImageItem>>(`/api/images?${query}`);
        images.push(...page.items);
        cursor = page.next_cursor ?? null;
      } while (cursor);
      if (!images.length) {
        setMessage("This album has no images yet.");
        return;
      }
      const total = images.length * plan.choices.length;
      const label = plan.choices.map((c) => choiceLabel(models, c)).join(" + ");
      const batch = live.startBatch(`${label} on “${albumName}”`, total);
      const apiBatch = newBatch(total);
      const work = images.flatMap((image) => jobBodies(image.id, plan, apiBatch).map((body) => ({ image, body })));
      const jobIds: string[] = [];
      const refused: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < work.length) {
          const { image, body } = work[next++];
          try {
            const job = await client.post<Job>("/api/jobs", body, { "Idempotency-Key": newIdempotencyKey() });
            jobIds.push(job.id);
            live.updateBatch(batch, { jobIds: [...jobIds] });
            live.track([job]);
          } catch (e) {
            refused.push(`${image.filename}: ${(e as Error).message}`);
            live.updateBatch(batch, { refused: [...refused] });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, work.length) }, worker));
      live.updateBatch(batch, { submitting: false });
      onClose();
    } catch (e) {
      setMessage((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel apply" aria-label="Apply to whole album">
      <h2>Enhance every image in “{albumName}”</h2>
      {error && <p className="error" role="alert">{error}</p>}
      {models && <RunPlanFields models={models} state={runPlan} disabled={busy} />}
      {message && <p className="error" role="alert">{message}</p>}
      <div className="actions">
        <button type="button" className="btn btn-primary" onClick={run} disabled={busy || !runnable}>
          {busy ? "Starting…" : "Run on whole album"}
        </button>
        <button type="button" className="btn" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
    </section>
  );
}
