-- Rate limits (security.rate_limits): fixed-window counters shared by every instance.
-- One row per (limit, key, window); a check is one INSERT ... ON CONFLICT DO UPDATE that adds
-- one only while the count is under the limit. Rows past `expires_at` are deleted by the
-- cleanup worker's rate_limits task.
CREATE TABLE rate_limit_counters (
    name         text        NOT NULL,
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL CHECK (count > 0),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (name, key, window_start)
);
CREATE INDEX rate_limit_counters_expiry_idx ON rate_limit_counters (expires_at);

-- failed_validations_per_account_per_name counts an account's invalid authorizations per name
-- in a sliding window (RFC 8555 §7.1.4: an authorization becomes invalid when validation fails).
CREATE INDEX authorizations_failed_idx
    ON authorizations (account_id, identifier_value, updated_at)
    WHERE status = 'invalid';
