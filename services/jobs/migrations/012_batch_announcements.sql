-- When each batch was last announced (batch.finished), so that the sweep of batches that never reached their
-- announced size (some of their requests were refused) announces each of them once.
CREATE TABLE batch_announcements (
    user_id uuid NOT NULL,
    batch_id uuid NOT NULL,
    announced_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, batch_id)
);
