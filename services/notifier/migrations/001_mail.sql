-- The notifier's own schema (issue 14, e-mail when away): who may be e-mailed, who has a page open on any
-- replica, and the e-mails to send (an outbox: sending never holds up job events).
CREATE TABLE recipients (
    user_id uuid PRIMARY KEY,
    email text NOT NULL,
    display_name text,
    notify_email boolean NOT NULL DEFAULT false,
    version timestamptz NOT NULL DEFAULT '-infinity'
);

CREATE TABLE instances (
    instance text PRIMARY KEY,
    seen_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE presence (
    instance text NOT NULL REFERENCES instances (instance) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    sockets int NOT NULL,
    PRIMARY KEY (user_id, instance)
);

CREATE TABLE mail_outbox (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    user_id uuid NOT NULL,
    to_address text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    attempts int NOT NULL DEFAULT 0,
    next_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at timestamptz,
    failed_at timestamptz,
    last_error text
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_at) WHERE sent_at IS NULL AND failed_at IS NULL;
