-- Login throttling with exponential back-off (services/auth/throttle.py): one row per key ("pair:<email> <address>",
-- "address:<address>", "account:<email>"), locked while an attempt is charged, so that parallel attempts
-- cannot all pass before the password check.
CREATE TABLE login_throttle (
    key text PRIMARY KEY,
    failures int NOT NULL DEFAULT 0,
    blocked_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

-- Addresses an account has logged in from: the account-wide back-off does not apply to them, so that a stranger
-- failing on purpose cannot lock the owner out of their own devices.
CREATE TABLE known_addresses (
    email text NOT NULL,
    address text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email, address)
);
CREATE INDEX known_addresses_seen ON known_addresses (seen_at);

-- Failures were recorded under the trimmed e-mail but counted under the e-mail as sent: normalise the old rows.
UPDATE login_failures SET email = lower(btrim(email));
CREATE INDEX login_failures_at ON login_failures (at);

-- Housekeeping: expired and revoked refresh tokens are pruned by expiry.
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
