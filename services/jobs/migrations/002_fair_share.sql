-- Fair share: requested jobs are held here and released to the broker per user in turn, a bounded number in
-- flight per user and family. released_at is NULL while a job waits in the jobs service.
ALTER TABLE jobs ADD COLUMN released_at timestamptz;
-- Liveness per attempt: the last claim or heartbeat of the attempt (any progress value counts).
ALTER TABLE jobs ADD COLUMN heartbeat_at timestamptz;
-- The worker instance that claimed the current attempt (for operators and logs).
ALTER TABLE jobs ADD COLUMN claimed_by text;

-- Jobs requested before this migration were published at once: they are in flight.
UPDATE jobs SET released_at = requested_at WHERE status IN ('queued', 'running');

CREATE INDEX jobs_held ON jobs (family, user_id, requested_at, id) WHERE status = 'queued' AND released_at IS NULL;
CREATE INDEX jobs_in_flight ON jobs (user_id, family)
    WHERE status IN ('queued', 'running') AND released_at IS NOT NULL;
-- "Does anyone else have work in this family?" (a user alone may have more in flight).
CREATE INDEX jobs_active_family ON jobs (family, user_id) WHERE status IN ('queued', 'running');
