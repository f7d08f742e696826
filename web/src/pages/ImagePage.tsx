// One image: choose a type, run it, follow its progress, compare, download, and its job history.
import { useEffect, useRef, useState } from "react";
import { isAbort, newIdempotencyKey } from "../api/client";
import { baseName, download } from "../api/download";
import { errorText, formatEta, isTerminal, type ImageItem, type Job, type Model, type Page } from "../api/types";
import { AuthImage } from "../components/AuthImage";
import { Compare } from "../components/Compare";
import { formatTime, JobHistory } from "../components/JobHistory";
import { formatLabel, jobBodies, newBatch, RunPlanFields, useRunPlan } from "../components/RunPlan";
import { formatBytes } from "../components/Uploads";
import { useThrottledText } from "../useThrottledText";
import { Link, navigate, useSearchParams } from "../router";
import { useAlbums } from "../state/albums";
import { useGalleryCache } from "../state/gallery";
import { useImageJobs, useLive } from "../state/live";
import { describeOptions, useModels } from "../state/models";
import { useSession } from "../state/session";
import { useTitle } from "../useTitle";

/** A result's name in the compare menus: type, options and engine. */
export function resultLabel(model: Model | undefined, job: Job): string {
  const options = describeOptions(model, job.options);
  return [model?.label ?? job.type, options === "—" ? "" : options, formatLabel(job.output)].filter(Boolean).join(", ") + (job.engine ? ` · ${job.engine}` : "");
}

export function ImagePage({ imageId }: { imageId: string }) {
  const { client, user } = useSession();
  const live = useLive();
  const { albums, reload: reloadAlbums } = useAlbums();
  const gallery = useGalleryCache();
  const [moveTo, setMoveTo] = useState("");
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [managing, setManaging] = useState(false);
  const { models, error: modelsError } = useModels(client);
  const jobs = useImageJobs(imageId);
  const params = useSearchParams();
  const [image, setImage] = useState<ImageItem | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [history, setHistory] = useState<{ loading: boolean; error: string | null; attempt: number }>({
    loading: true,
    error: null,
    attempt: 0,
  });
  const followed = useRef<string | null>(null);
  const { track } = live;
  useTitle(image?.filename ?? "Image");

  // Requests of this image are aborted when the page goes (or shows another image).
  useEffect(() => {
    const abort = new AbortController();
    setImage(null);
    setLoadError(null);
    client.get<ImageItem>(`/api/images/${imageId}`, abort.signal).then(
      (img) => setImage(img),
      (e: Error) => !isAbort(e) && setLoadError(e.message),
    );
    return () => abort.abort();
  }, [client, imageId]);

  // After the live connection comes back, the history is asked again: jobs may have started elsewhere meanwhile.
  const wasOffline = useRef(false);
  useEffect(() => {
    if (live.socket === "offline") wasOffline.current = true;
    else if (live.socket === "open" && wasOffline.current) {
      wasOffline.current = false;
      setHistory((h) => ({ ...h, attempt: h.attempt + 1 }));
    }
  }, [live.socket]);

  const historyAttempt = history.attempt;
  useEffect(() => {
    const abort = new AbortController();
    setHistory((h) => ({ ...h, loading: true, error: null }));
    client.get<Page<Job>>(`/api/jobs?image_id=${encodeURIComponent(imageId)}`, abort.signal).then(
      (page) => {
        track(page.items);
        setHistory((h) => ({ ...h, loading: false }));
      },
      (e: Error) => !isAbort(e) && setHistory((h) => ({ ...h, loading: false, error: e.message })),
    );
    return () => abort.abort();
  }, [client, imageId, track, historyAttempt]);

  const runPlan = useRunPlan(models);
  const { plan } = runPlan;
  const runnable = plan.choices.length > 0 && plan.choices.every((c) => models?.find((m) => m.type === c.type)?.available);
  const active = jobs.find((j) => !isTerminal(j.status));
  const requested = params.get("job");
  const progressText = active
    ? `${models?.find((m) => m.type === active.type)?.label ?? active.type}: ${
        active.status === "queued" ? "waiting to start" : `${Math.round((active.progress ?? 0) * 100)}%`
      }${formatEta(active.eta_seconds) ? `, ${formatEta(active.eta_seconds)}` : ""}`
    : "";
  // Screen readers hear the progress now and then, not every percent.
  const announced = useThrottledText(progressText, 10_000);
  const viewing =
    jobs.find((j) => j.id === requested && j.status === "completed") ?? jobs.find((j) => j.status === "completed") ?? null;

  // The job started here takes the stage when it completes.
  useEffect(() => {
    const id = followed.current;
    const job = id ? jobs.find((j) => j.id === id) : undefined;
    if (job && isTerminal(job.status)) {
      followed.current = null;
      if (job.status === "completed") navigate(`/images/${imageId}?job=${job.id}`, { replace: true });
    }
  }, [jobs, imageId]);

  const run = async () => {
    if (!plan.choices.length) return;
    setRunning(true);
    setActionError(null);
    // Asking while the person clicks is what browsers allow; the answer only decides the extra notification.
    if (typeof Notification !== "undefined" && Notification.permission === "default" && user?.preferences?.notifications !== false) {
      void Notification.requestPermission().catch(() => undefined);
    }
    try {
      // One job per type, each with its own key; several share one batch.
      const bodies = jobBodies(imageId, plan, newBatch(plan.choices.length));
      let first: Job | null = null;
      for (const body of bodies) {
        const job = await client.post<Job>("/api/jobs", body, { "Idempotency-Key": newIdempotencyKey() });
        first ??= job;
        live.track([job]);
      }
      followed.current = first?.id ?? null;
      runPlan.setAdded([]);
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setRunning(false);
    }
  };

  const act = async (job: Job, action: "cancel" | "retry") => {
    setActionError(null);
    try {
      const updated = await client.post<Job>(`/api/jobs/${job.id}/${action}`);
      if (updated?.id) {
        if (action === "retry") followed.current = updated.id;
        live.track([updated]);
      }
    } catch (e) {
      setActionError((e as Error).message);
    }
  };

  const save = async (path: string, filename: string, stem = false) => {
    setActionError(null);
    try {
      await download(client, path, filename, stem);
    } catch (e) {
      setActionError((e as Error).message);
    }
  };

  const move = async () => {
    const target = albums?.find((a) => a.id === moveTo);
    if (!target) return;
    setManaging(true);
    setActionError(null);
    try {
      const updated = await client.patch<ImageItem>(`/api/images/${imageId}`, { album_id: target.id });
      setImage(updated);
      gallery.moved(updated);
      setMoveTo("");
      void reloadAlbums();
      live.toast({ kind: "info", title: `Moved to “${target.name}”` });
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setManaging(false);
    }
  };

  const remove = async () => {
    setManaging(true);
    setActionError(null);
    try {
      await client.delete(`/api/images/${imageId}`);
      gallery.removed(imageId);
      void reloadAlbums();
      live.toast({ kind: "info", title: `Deleted “${image?.filename ?? "the image"}”` });
      navigate(image?.album_id ? `/albums/${image.album_id}` : "/", { replace: true });
    } catch (e) {
      setActionError((e as Error).message);
      setManaging(false);
    }
  };

  if (loadError) {
    return (
      <div className="page">
        <p className="error" role="alert">
          {loadError}
        </p>
        <Link href="/">Back to all images</Link>
      </div>
    );
  }

  const album = image?.album_id ? albums?.find((a) => a.id === image.album_id) : undefined;
  const backHref = album ? `/albums/${album.id}` : "/";
  const name = image?.filename ?? "Image";
  const compareSources = [
    { key: "original", label: "Original", path: `/api/images/${imageId}/preview` },
    ...jobs
      .filter((j) => j.status === "completed")
      .map((j, _i, done) => {
        const model = models?.find((m) => m.type === j.type);
        const base = resultLabel(model, j);
        // Two results with the same type, options and engine are told apart by their time.
        const twin = done.some((o) => o.id !== j.id && resultLabel(models?.find((m) => m.type === o.type), o) === base);
        return { key: j.id, label: twin ? `${base} (${formatTime(j.created_at)})` : base, path: `/api/jobs/${j.id}/result` };
      }),
  ];

  return (
    <div className="page detail">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href={backHref}>← {album ? album.name : "All images"}</Link>
      </nav>
      <header className="page-head">
        <h1 title={name}>{name}</h1>
        {image && (
          <p className="meta">
            {image.width} × {image.height} px · {formatBytes(image.size_bytes)}
            {image.taken_at && (
              <>
                {" · taken "}
                <time dateTime={image.taken_at}>{formatTime(image.taken_at)}</time>
              </>
            )}
          </p>
        )}
      </header>
      <div className="detail-body">
        <div className="stage">
          {viewing && image ? (
            <Compare
              key={viewing.id}
              sources={compareSources}
              left="original"
              right={viewing.id}
              width={image.width}
              height={image.height}
              name={name}
            />
          ) : (
            <div className="frame frame-large" style={image ? { aspectRatio: `${image.width} / ${image.height}` } : undefined}>
              <AuthImage path={`/api/images/${imageId}/preview`} alt={name} />
            </div>
          )}
        </div>
        <aside className="side">
          <section className="panel" aria-label="Enhance">
            <h2>Enhance</h2>
            {modelsError && <p className="error" role="alert">{modelsError}</p>}
            {models && runPlan.current ? (
              <RunPlanFields models={models} state={runPlan} disabled={running} />
            ) : (
              !modelsError && <span className="spinner" role="status" aria-label="Loading types" />
            )}
            <button
              type="button"
              className="btn btn-primary btn-wide"
              onClick={run}
              disabled={running || !runnable}
            >
              {running ? "Starting…" : plan.choices.length > 1 ? `Run ${plan.choices.length} types` : "Run"}
            </button>
            <p className="visually-hidden" role="status">
              {announced}
            </p>
            {active && (
              <div className="job-progress">
                <div className="job-progress-text">
                  <span>
                    {models?.find((m) => m.type === active.type)?.label ?? active.type}:{" "}
                    {active.status === "queued" ? "waiting to start…" : `${Math.round((active.progress ?? 0) * 100)}%`}
                    {formatEta(active.eta_seconds) && <span className="eta"> · {formatEta(active.eta_seconds)}</span>}
                  </span>
                  <button type="button" className="btn btn-small" onClick={() => act(active, "cancel")}>
                    Cancel
                  </button>
                </div>
                <progress
                  max={1}
                  value={active.status === "queued" ? undefined : active.progress ?? 0}
                  aria-label="Enhancement progress"
                />
              </div>
            )}
            {jobs[0]?.status === "failed" && !active && (
              <p className="error" role="alert">
                The last enhancement failed: {errorText(jobs[0].error)}
              </p>
            )}
            {actionError && (
              <p className="error" role="alert">
                {actionError}
              </p>
            )}
          </section>
          <section className="panel" aria-label="Download">
            <h2>Download</h2>
            <div className="actions">
              <button
                type="button"
                className="btn btn-primary"
                disabled={!viewing}
                onClick={() =>
                  viewing && save(`/api/jobs/${viewing.id}/result`, `${baseName(name)}_${viewing.type}`, true)
                }
              >
                Download result
              </button>
              <button type="button" className="btn" onClick={() => save(`/api/images/${imageId}/original`, name)}>
                Download original
              </button>
            </div>
            {!viewing && <p className="hint">Run an enhancement to get a result.</p>}
          </section>
          <section className="panel" aria-labelledby="manage-title">
            <h2 id="manage-title">Organise</h2>
            <div className="field">
              <label htmlFor="image-move">Move to album</label>
              <select id="image-move" value={moveTo} disabled={managing} onChange={(e) => setMoveTo(e.target.value)}>
                <option value="">Choose an album…</option>
                {albums
                  ?.filter((a) => a.id !== image?.album_id)
                  .map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.name}
                    </option>
                  ))}
              </select>
            </div>
            <div className="actions">
              <button type="button" className="btn" disabled={!moveTo || managing} onClick={move}>
                Move
              </button>
              {!confirmDelete && (
                <button type="button" className="btn btn-danger" disabled={managing} onClick={() => setConfirmDelete(true)}>
                  Delete image…
                </button>
              )}
            </div>
            {confirmDelete && (
              <div className="confirm" role="group" aria-labelledby="delete-question">
                <p id="delete-question">Delete “{name}” and all its results? This cannot be undone.</p>
                <div className="actions">
                  <button type="button" className="btn btn-danger" disabled={managing} onClick={remove} autoFocus>
                    Delete for good
                  </button>
                  <button type="button" className="btn" disabled={managing} onClick={() => setConfirmDelete(false)}>
                    Keep it
                  </button>
                </div>
              </div>
            )}
          </section>
        </aside>
      </div>
      <section className="panel history-panel" aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <JobHistory
          jobs={jobs}
          models={models ?? []}
          viewing={viewing?.id ?? null}
          onView={(job) => navigate(`/images/${imageId}?job=${job.id}`, { replace: true })}
          onCancel={(job) => act(job, "cancel")}
          onRetry={(job) => act(job, "retry")}
          loading={history.loading}
          error={history.error}
          onReload={() => setHistory((h) => ({ ...h, attempt: h.attempt + 1 }))}
        />
      </section>
    </div>
  );
}
