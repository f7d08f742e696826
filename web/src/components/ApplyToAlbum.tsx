// One type for every image of an album: one job per image (the API has no batch endpoint).
import { useState } from "react";
import { newIdempotencyKey } from "../api/client";
import type { ImageItem, Job, Page } from "../api/types";
import { useLive } from "../state/live";
import { useModels } from "../state/models";
import { useSession } from "../state/session";
import { initialChoice, TypeSelect, type Choice } from "./TypeSelect";

const PARALLEL = 4;

export function ApplyToAlbum({ albumId, albumName, onClose }: { albumId: string; albumName: string; onClose(): void }) {
  const { client } = useSession();
  const live = useLive();
  const { models, error } = useModels(client);
  const [choice, setChoice] = useState<Choice | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const current = choice ?? (models ? initialChoice(models) : null);
  const model = models?.find((m) => m.type === current?.type);

  const run = async () => {
    if (!current) return;
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
      const batch = live.startBatch(`${model?.label ?? current.type} on “${albumName}”`, images.length);
      const jobIds: string[] = [];
      const refused: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < images.length) {
          const image = images[next++];
          try {
            const job = await client.post<Job>(
              "/api/jobs",
              { image_id: image.id, type: current.type, options: current.options },
              { "Idempotency-Key": newIdempotencyKey() },
            );
            jobIds.push(job.id);
            live.updateBatch(batch, { jobIds: [...jobIds] });
            live.track([job]);
          } catch (e) {
            refused.push(`${image.filename}: ${(e as Error).message}`);
            live.updateBatch(batch, { refused: [...refused] });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, images.length) }, worker));
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
      {models && current && (
        <TypeSelect models={models} value={current} onChange={setChoice} disabled={busy} />
      )}
      {message && <p className="error" role="alert">{message}</p>}
      <div className="actions">
        <button type="button" className="btn btn-primary" onClick={run} disabled={busy || !model?.available}>
          {busy ? "Starting…" : "Run on whole album"}
        </button>
        <button type="button" className="btn" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
    </section>
  );
}
