-- Validation retries (RFC 8555 §8.2): a transient failure keeps the challenge processing, shows
-- the failure in its error field and schedules the next attempt. `retries` counts the
-- failures tried again (challenges.max_attempts bounds them); `retry_at` is when the next
-- attempt is due (the Retry-After of the challenge resource). processing_since is renewed by
-- the instance holding the challenge (its heartbeat), so stale means "no live owner".
ALTER TABLE challenges
    ADD COLUMN retries  integer NOT NULL DEFAULT 0,
    ADD COLUMN retry_at timestamptz;
