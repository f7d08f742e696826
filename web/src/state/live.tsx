// App-level live updates: the notifier WebSocket (reconnecting with backoff and catching up over HTTP), the job
// store it feeds, toasts and browser notifications on completion, and "apply to album" batches.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import { errorText, isTerminal, type Job, type Page } from "../api/types";
import { JobStore } from "./jobStore";
import { openNotifierSocket, type SocketFactory, type SocketState } from "./notifierSocket";
import { useSession } from "./session";

export interface Toast {
  id: number;
  kind: "success" | "error" | "info";
  title: string;
  body?: string;
  href?: string;
  linkText?: string;
}

export interface Batch {
  id: string;
  label: string;
  total: number;
  jobIds: string[];
  /** Images whose job could not be created, with the reason. */
  refused: string[];
  submitting: boolean;
  announced: boolean;
}


interface Live {
  store: JobStore;
  socket: SocketState;
  toasts: Toast[];
  batches: Batch[];
  toast(toast: Omit<Toast, "id">): void;
  dismiss(id: number): void;
  /** Record a job just created or fetched over HTTP. */
  track(jobs: Job[]): void;
  startBatch(label: string, total: number): string;
  updateBatch(id: string, change: Partial<Pick<Batch, "jobIds" | "refused" | "submitting">>): void;
  dismissBatch(id: string): void;
}

const LiveContext = createContext<Live | null>(null);


const POLL_MS = 5000;

const defaultSocket: SocketFactory = (url) => new WebSocket(url);

export function LiveProvider({
  children,
  socketFactory = defaultSocket,
}: {
  children: ReactNode;
  socketFactory?: SocketFactory;
}) {
  const { client, user } = useSession();
  const store = useMemo(() => new JobStore(), []);
  const [socket, setSocket] = useState<SocketState>("connecting");
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [batches, setBatches] = useState<Batch[]>([]);
  const nextToast = useRef(1);
  const notified = useRef(new Set<string>());
  const batchJobs = useRef(new Set<string>());
  const wantsBrowserNotifications = user?.preferences?.notifications !== false;
  const prefRef = useRef(wantsBrowserNotifications);
  useEffect(() => {
    prefRef.current = wantsBrowserNotifications;
  }, [wantsBrowserNotifications]);

  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), []);

  // Toasts dismiss themselves (components/Toasts.tsx), pausing while hovered or focused.
  const toast = useCallback((t: Omit<Toast, "id">) => {
    const id = nextToast.current++;
    setToasts((list) => [...list.slice(-4), { ...t, id }]);
  }, []);

  const announce = useCallback(
    (job: Job) => {
      // Once per attempt: a retried job that fails (or completes) again says so again.
      const attemptKey = `${job.id}:${job.attempt ?? 1}`;
      if (notified.current.has(attemptKey) || batchJobs.current.has(job.id)) return;
      if (job.status !== "completed" && job.status !== "failed") return;
      notified.current.add(attemptKey);
      const href = `/images/${job.image_id}?job=${job.id}`;
      if (job.status === "completed") {
        toast({ kind: "success", title: "Your image is ready", body: "The enhancement finished.", href, linkText: "View" });
      } else {
        toast({ kind: "error", title: "Enhancement failed", body: errorText(job.error), href, linkText: "Details" });
      }
      if (prefRef.current && typeof Notification !== "undefined" && Notification.permission === "granted") {
        try {
          const n = new Notification(job.status === "completed" ? "Renovo: your image is ready" : "Renovo: enhancement failed", {
            body: job.status === "completed" ? "Open Renovo to compare and download it." : errorText(job.error),
            tag: job.id,
          });
          n.onclick = () => {
            window.focus();
            window.history.pushState(null, "", href);
            window.dispatchEvent(new PopStateEvent("popstate"));
          };
        } catch {
          // Some browsers (Android Chrome) allow notifications only from a service worker; the toast suffices.
        }
      }
    },
    [toast],
  );

  const track = useCallback(
    (jobs: Job[]) => {
      const before = new Map(jobs.map((j) => [j.id, store.get(j.id)?.status]));
      for (const job of store.upsert(jobs)) {
        const prev = before.get(job.id);
        if (isTerminal(job.status) && prev !== undefined && !isTerminal(prev)) announce(job);
      }
    },
    [store, announce],
  );

  /** Fetch the jobs changed since the newest one known: after a reconnect, and while the socket is down. */
  const catchUp = useCallback(async () => {
    const since = store.lastUpdatedAt();
    if (!since) return;
    try {
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ updated_since: since });
        if (cursor) query.set("cursor", cursor);
        const page: Page<Job> = await client.get<Page<Job>>(`/api/jobs?${query}`);
        track(page.items);
        cursor = page.next_cursor ?? null;
      } while (cursor);
    } catch {
      // The next reconnect or poll tries again.
    }
  }, [client, store, track]);

  // The WebSocket lives as long as someone is signed in (this provider is remounted for each person).
  const signedIn = Boolean(user);
  useEffect(() => {
    if (!signedIn) return;
    let stopped = false;
    const abort = new AbortController();
    // One request per job at a time; a push arriving meanwhile asks for one more answer after it.
    const inFlight = new Map<string, { again: boolean; announce: boolean }>();

    const fetchJob = (id: string, announceIt: boolean, tries = 0) => {
      const running = inFlight.get(id);
      if (running) {
        running.again = true;
        running.announce ||= announceIt;
        return;
      }
      const slot = { again: false, announce: announceIt };
      inFlight.set(id, slot);
      const prev = store.get(id);
      const prevStatus = prev?.status;
      client.get<Job>(`/api/jobs/${id}`, abort.signal).then(
        (job) => {
          inFlight.delete(id);
          if (stopped) return;
          const changed = store.upsert([job]).length > 0;
          const now = store.get(id);
          // The notifier can be ahead of the jobs service: until the record catches up with the push, ask again.
          if (!changed || (now && isTerminal(now.status) && !isTerminal(job.status))) {
            if (tries < 8) setTimeout(() => !stopped && fetchJob(id, slot.announce, tries + 1), 400 * (tries + 1));
          } else if (slot.again) {
            fetchJob(id, slot.announce);
          }
          // A retry can end before this tab hears of it (its pushes, read against the old attempt, ask for the
          // record): a newer attempt that has ended is news too.
          const newAttempt = prev !== undefined && (now?.attempt ?? 1) > (prev.attempt ?? 1);
          if (now && isTerminal(now.status) && (slot.announce || newAttempt || (prevStatus !== undefined && prevStatus !== now.status))) {
            announce(now);
          }
        },
        () => {
          inFlight.delete(id);
        },
      );
    };

    const close = openNotifierSocket(client, socketFactory, {
      onState: setSocket,
      onReady: (reconnected) => {
        if (reconnected || store.lastUpdatedAt()) void catchUp();
      },
      onEvent: (event) => {
        const prev = store.get(event.job_id)?.status;
        const outcome = store.applyEvent(event);
        if (outcome === "unknown") {
          // A job started elsewhere (another tab, an album run): its record, with this push applied on top.
          fetchJob(event.job_id, isTerminal(event.status));
        } else if (outcome === "refetch") {
          // A push this tab cannot place (an end behind a later state, two different ends): ask the service.
          fetchJob(event.job_id, false);
        } else if (outcome === "applied" && isTerminal(event.status) && prev && !isTerminal(prev)) {
          const job = store.get(event.job_id);
          if (job?.status === event.status) announce(job);
          // The push carries no result size or start and end times; the full record fills the history row.
          fetchJob(event.job_id, false);
        }
      },
    });
    return () => {
      stopped = true;
      abort.abort();
      close();
      store.clear();
    };
  }, [signedIn, client, store, socketFactory, catchUp, announce]);

  const version = useSyncExternalStore(store.subscribe, store.getVersion);

  // Without the socket (a proxy that refuses WebSockets, a long outage) jobs in flight are polled instead.
  const waiting = signedIn && socket !== "open" && store.hasActive();
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => void catchUp(), POLL_MS);
    return () => clearInterval(timer);
  }, [waiting, catchUp]);

  // Batches finish when each of their jobs is terminal.
  useEffect(() => {
    for (const batch of batches) {
      if (batch.announced || batch.submitting) continue;
      const done = batch.jobIds.filter((id) => {
        const job = store.get(id);
        return job && isTerminal(job.status);
      });
      if (done.length < batch.jobIds.length) continue;
      const completed = batch.jobIds.filter((id) => store.get(id)?.status === "completed").length;
      setBatches((list) => list.map((b) => (b.id === batch.id ? { ...b, announced: true } : b)));
      toast({
        kind: completed === batch.total ? "success" : "info",
        title: `${batch.label}: done`,
        body: `${completed} of ${batch.total} images enhanced.`,
      });
    }
  }, [version, batches, store, toast]);

  const startBatch = useCallback((label: string, total: number) => {
    const id = `batch-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    setBatches((list) => [
      ...list.filter((b) => !b.announced),
      { id, label, total, jobIds: [], refused: [], submitting: true, announced: false },
    ]);
    return id;
  }, []);

  const updateBatch = useCallback((id: string, change: Partial<Pick<Batch, "jobIds" | "refused" | "submitting">>) => {
    change.jobIds?.forEach((j) => batchJobs.current.add(j));
    setBatches((list) => list.map((b) => (b.id === id ? { ...b, ...change } : b)));
  }, []);

  const dismissBatch = useCallback((id: string) => setBatches((list) => list.filter((b) => b.id !== id)), []);

  const value = useMemo<Live>(
    () => ({ store, socket, toasts, batches, toast, dismiss, track, startBatch, updateBatch, dismissBatch }),
    [store, socket, toasts, batches, toast, dismiss, track, startBatch, updateBatch, dismissBatch],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error("useLive outside LiveProvider");
  return live;
}

/** Re-render when any job changes and return the jobs of one image, newest first. */
export function useImageJobs(imageId: string): Job[] {
  const { store } = useLive();
  useSyncExternalStore(store.subscribe, store.getVersion);
  return store.forImage(imageId);
}

export function useJobStoreVersion(): number {
  const { store } = useLive();
  return useSyncExternalStore(store.subscribe, store.getVersion);
}
