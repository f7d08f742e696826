-- Issue 14: the result's format, the worker's time estimate, the download name, batches for e-mail.
ALTER TABLE jobs ADD COLUMN output jsonb NOT NULL DEFAULT '{"format": "auto"}'::jsonb;
ALTER TABLE jobs ADD COLUMN eta_seconds real;
ALTER TABLE jobs ADD COLUMN source_name text;
ALTER TABLE jobs ADD COLUMN album_id uuid;
ALTER TABLE jobs ADD COLUMN batch_id uuid;
ALTER TABLE jobs ADD COLUMN batch_size int;
CREATE INDEX jobs_user_batch ON jobs (user_id, batch_id) WHERE batch_id IS NOT NULL;
