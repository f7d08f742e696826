CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    image_id uuid NOT NULL,
    type text NOT NULL,
    family text NOT NULL,
    options jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    progress real NOT NULL DEFAULT 0,
    engine text,
    error text,
    attempt int NOT NULL DEFAULT 1,
    source_key text NOT NULL,
    result_key text NOT NULL,
    result_width int,
    result_height int,
    idempotency_key text,
    correlation_id text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX jobs_user_created ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_user_image ON jobs (user_id, image_id);
CREATE INDEX jobs_user_updated ON jobs (user_id, updated_at);
CREATE INDEX jobs_running ON jobs (updated_at) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_idempotency ON jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    type text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_created_at ON outbox (created_at);
