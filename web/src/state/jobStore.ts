// Every job this tab knows about, updated from HTTP answers and WebSocket pushes; components subscribe to it.
import { isTerminal, type Job, type JobEvent } from "../api/types";

export class JobStore {
  private jobs = new Map<string, Job>();
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
   * of its changes is missed), else the newest updated_at seen.
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

  /** Store full job records; an older record never overwrites a newer one. Returns the jobs that changed. */
  upsert(jobs: Job[]): Job[] {
    const changed: Job[] = [];
    for (const job of jobs) {
      const known = this.jobs.get(job.id);
      if (known) {
        const order = compareTimes(job.updated_at, known.updated_at);
        if (order < 0) continue;
        if (order === 0 && isTerminal(known.status) && !isTerminal(job.status)) continue;
      }
      this.jobs.set(job.id, job);
      changed.push(job);
    }
    if (changed.length) this.bump();
    return changed;
  }

  /** Apply a push. Returns the previous status (undefined when the job was unknown). */
  applyEvent(event: JobEvent): Job["status"] | undefined {
    const known = this.jobs.get(event.job_id);
    const previous = known?.status;
    if (!known) return previous;
    // Pushes can arrive out of order with each other and with HTTP answers: the newer state wins, and a
    // finished job only starts again on a push that is newer than its end (a retry).
    const order = event.updated_at ? compareTimes(event.updated_at, known.updated_at) : 0;
    if (order < 0) return previous;
    if (isTerminal(known.status) && !isTerminal(event.status) && order <= 0) return previous;
    this.jobs.set(event.job_id, {
      ...known,
      status: event.status,
      progress: event.progress ?? (event.status === "completed" ? 1 : known.progress),
      error: event.error ?? (isTerminal(event.status) ? known.error : null),
      engine: event.engine ?? known.engine,
      updated_at: event.updated_at ?? known.updated_at,
    });
    this.bump();
    return previous;
  }

  clear(): void {
    this.jobs.clear();
    this.bump();
  }

  private bump(): void {
    this.version += 1;
    this.listeners.forEach((l) => l());
  }
}

/** Order two ISO 8601 timestamps (sources differ in precision and suffix, so compare instants, then text). */
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
