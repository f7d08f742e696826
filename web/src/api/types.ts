// Shapes of the HTTP API (shared DESIGN.md). Extra fields the server sends are ignored.

export interface User {
  id: string;
  email: string;
  display_name: string | null;
  created_at: string;
  preferences?: { notifications?: boolean; notify_email?: boolean };
  /** What this server can do for the user: notify_email is false without SMTP. */
  capabilities?: { notify_email?: boolean };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

export interface Album {
  id: string;
  name: string;
  image_count: number;
  created_at: string;
}

export interface ImageItem {
  id: string;
  album_id: string | null;
  filename: string;
  width: number;
  height: number;
  content_type: string;
  size_bytes: number;
  created_at: string;
  /** When the photo was taken (EXIF DateTimeOriginal), where the albums service knows it. */
  taken_at?: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type OptionValue = string | number | boolean;

export interface ModelOption {
  name: string;
  label: string;
  choices: OptionValue[];
  default: OptionValue;
  description: string;
}

export interface Model {
  type: string;
  family: string;
  label: string;
  description: string;
  options: ModelOption[];
  available: boolean;
  engine: string;
  reason: string | null;
}

export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

export interface Job {
  id: string;
  image_id: string;
  type: string;
  options: Record<string, OptionValue>;
  status: JobStatus;
  progress: number;
  /** The worker's estimate of the seconds left; null until it can tell. */
  eta_seconds?: number | null;
  output?: OutputChoice | null;
  engine: string | null;
  error: string | { code?: string; message?: string } | null;
  /** 1 for the first run; a retry starts attempt + 1. */
  attempt?: number;
  /** What to know about a completed result, in plain sentences from the engine ("not a photo: lines kept"). */
  notes?: string[];
  created_at: string;
  updated_at: string;
}

export interface UploadResult {
  images: ImageItem[];
  rejected: { filename: string; error: { code: string; message: string } }[];
}

/** A push from the notifier WebSocket. */
export interface JobEvent {
  type: "job.started" | "job.progress" | "job.completed" | "job.failed" | "job.cancelled";
  job_id: string;
  image_id: string;
  status: JobStatus;
  progress?: number;
  eta_seconds?: number | null;
  error?: string | { code?: string; message?: string } | null;
  engine?: string;
  /** When the notifier saw the event (its clock, not the jobs service's): never used to order states. */
  updated_at?: string;
}

export type OutputFormat = "auto" | "png" | "webp" | "jpeg";

export interface OutputChoice {
  format: OutputFormat;
  quality?: number;
  flatten?: boolean;
}

/** "about 2 min left" / "about 40 s left" from a job's eta_seconds; "" when the worker cannot tell yet. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

export const TERMINAL: readonly JobStatus[] = ["completed", "failed", "cancelled"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.includes(status);
}

export function errorText(error: Job["error"]): string {
  if (!error) return "";
  return typeof error === "string" ? error : error.message ?? error.code ?? "failed";
}
