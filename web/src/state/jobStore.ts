// Every job this tab knows about, updated from HTTP answers and WebSocket pushes; components subscribe to it.
//
// States are ordered by what the contract guarantees, never by timestamps: a pushed event carries the time the
// notifier saw it and a fetched job the time the jobs service stored it (two clocks). A job only moves forward
// by (attempt, status rank, progress): a new attempt beats everything of an older one; within one attempt
// queued < running < finished, and progress only grows while running.
import { isTerminal, type Job, type JobEvent, type JobStatus } from "../api/types";

const STATUS_RANK: Record<JobStatus, number> = { queued: 0, running: 1, completed: 2, failed: 2, cancelled: 2 };

interface Rank {
  attempt: number;
  status: number;
  progress: number;
}

function rankOf(attempt: number | undefined, status: JobStatus, progress: number | undefined): Rank {
  return { attempt: attempt ?? 1, status: STATUS_RANK[status] ?? 0, progress: progress ?? 0 };
}

/** <0, 0 or >0 as `a` is behind, level with or ahead of `b`. */
export function compareRank(a: Rank, b: Rank): number {
  return a.attempt - b.attempt || a.status - b.status || a.progress - b.progress;
}

export type EventOutcome =
  /** The job is unknown here: the caller fetches it (the push is kept and applied on top of the answer). */
  | "unknown"
  | "applied"
  /** Behind what is known: dropped. `refetch` when it claims a different status than the one known. */
  | "stale"
  | "refetch";

export class JobStore {
  private jobs = new Map<string, Job>();
  /** The most advanced push per job not known yet, applied once its record arrives. */
  private pending = new Map<string, JobEvent>();
  private listeners = new Set<() => void>();
  private version = 0;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Jobs of one image, newest first. */
  forImage(imageId: string): Job[] {
    return [...this.jobs.values()]
      .filter((j) => j.image_id === imageId)
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  /** Whether any known job is still queued or running. */
  hasActive(): boolean {
    for (const job of this.jobs.values()) if (!isTerminal(job.status)) return true;
    return false;
  }

  /**
   * Where to catch up from after a reconnect: the oldest last-known state of a job still in flight (so that none
   * of its changes is missed), else the newest updated_at seen. Only the jobs service's own timestamps are
   * used (pushes never overwrite updated_at), so `updated_since` is compared on the clock that wrote it.
   */
  lastUpdatedAt(): string | null {
    let last: string | null = null;
    let oldestActive: string | null = null;
    for (const job of this.jobs.values()) {
      if (!last || compareTimes(job.updated_at, last) > 0) last = job.updated_at;
      if (!isTerminal(job.status) && (!oldestActive || compareTimes(job.updated_at, oldestActive) < 0)) {
        oldestActive = job.updated_at;
      }
    }
    return oldestActive ?? last;
  }

  /** Store full job records (the server's word); one behind what is known is dropped. Returns those that changed. */
  upsert(jobs: Job[]): Job[] {
    const changed: Job[] = [];
    for (const job of jobs) {
      const known = this.jobs.get(job.id);
      if (known && behind(job, known)) continue;
      this.jobs.set(job.id, job);
      changed.push(job);
      const waiting = this.pending.get(job.id);
      if (waiting) {
        this.pending.delete(job.id);
        this.merge(job, waiting);
      }
    }
    if (changed.length) this.bump();
    return changed.map((j) => this.jobs.get(j.id) ?? j);
  }

  /** Apply a push (pushes carry no attempt: they belong to the attempt known here). */
  applyEvent(event: JobEvent): EventOutcome {
    const known = this.jobs.get(event.job_id);
    if (!known) {
      const waiting = this.pending.get(event.job_id);
      if (!waiting || compareRank(eventRank(event, 1), eventRank(waiting, 1)) >= 0) this.pending.set(event.job_id, event);
      return "unknown";
    }
    if (!this.merge(known, event)) return event.status === known.status ? "stale" : "refetch";
    this.bump();
    return "applied";
  }

  private merge(known: Job, event: JobEvent): boolean {
    if (compareRank(eventRank(event, known.attempt), rankOf(known.attempt, known.status, known.progress)) < 0) return false;
    // Two different ends of one attempt: only the jobs service knows which one stood (a worker's completion
    // can race a cancel that the service accepted first).
    if (isTerminal(known.status) && isTerminal(event.status) && known.status !== event.status) return false;
    this.jobs.set(known.id, {
      ...known,
      status: event.status,
      progress: event.progress ?? (event.status === "completed" ? 1 : known.progress),
      error: event.error ?? (isTerminal(event.status) ? known.error : null),
      engine: event.engine ?? known.engine,
      // A push without an estimate keeps the last one while running; a finished job has nothing left.
      eta_seconds: isTerminal(event.status)
        ? null
        : event.eta_seconds !== undefined
          ? event.eta_seconds
          : event.status === known.status
            ? known.eta_seconds
            : null,
    });
    return true;
  }

  clear(): void {
    this.jobs.clear();
    this.pending.clear();
    this.bump();
  }

  private bump(): void {
    this.version += 1;
    this.listeners.forEach((l) => l());
  }
}

/** Whether a fetched record is behind the one known. Between two ends of one attempt the record wins. */
function behind(job: Job, known: Job): boolean {
  const order = compareRank(rankOf(job.attempt, job.status, job.progress), rankOf(known.attempt, known.status, known.progress));
  if (order >= 0) return false;
  return !((job.attempt ?? 1) === (known.attempt ?? 1) && isTerminal(job.status) && isTerminal(known.status));
}

function eventRank(event: JobEvent, attempt: number | undefined): Rank {
  return rankOf(attempt, event.status, event.progress ?? (event.status === "completed" ? 1 : 0));
}

/** Order two ISO 8601 timestamps of the same clock (sources differ in precision and suffix). */
export function compareTimes(a: string, b: string): number {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta < tb ? -1 : 1;
  const fa = fraction(a);
  const fb = fraction(b);
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

function fraction(iso: string): string {
  // Sub-millisecond digits, padded so that "…:05.5" and "…:05.500001" compare as numbers.
  const match = /\.(\d+)/.exec(iso);
  return (match?.[1] ?? "").padEnd(9, "0");
}
