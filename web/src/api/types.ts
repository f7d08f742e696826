// Shapes of the HTTP API (shared DESIGN.md). Extra fields the server sends are ignored.

export interface User {
  id: string;
  email: string;
  display_name: string | null;
  created_at: string;
  preferences?: { notifications?: boolean };
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
  engine: string | null;
  error: string | { code?: string; message?: string } | null;
  /** 1 for the first run; a retry starts attempt + 1. */
  attempt?: number;
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
  error?: string | { code?: string; message?: string } | null;
  engine?: string;
  /** When the notifier saw the event (its clock, not the jobs service's): never used to order states. */
  updated_at?: string;
}

export const TERMINAL: readonly JobStatus[] = ["completed", "failed", "cancelled"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.includes(status);
}

export function errorText(error: Job["error"]): string {
  if (!error) return "";
  return typeof error === "string" ? error : error.message ?? error.code ?? "failed";
}
