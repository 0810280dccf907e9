-- Notifications: an outbox written in the same transaction as the event that causes it,
-- delivered later by the delivery worker (acmeeh.workers.delivery), and the record of which
-- expiration warnings were already produced (acmeeh.authority.expiration).

-- One row per (event, recipient address). `context` holds the template variables; the
-- message is rendered at delivery time so operator template overrides apply.
--   pending   → waiting for its first attempt
--   failed    → an attempt failed; retried at next_attempt_at (exponential backoff)
--   sent      → accepted by the SMTP server
--   abandoned → failed more than notifications.max_retries times; never retried
--   skipped   → recorded while smtp.enabled was false (audit trail only); never sent
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    kind            text        NOT NULL,
    recipient       text        NOT NULL,
    account_id      uuid        REFERENCES accounts (id) ON DELETE SET NULL,
    context         jsonb       NOT NULL DEFAULT '{}',
    status          text        NOT NULL
                    CHECK (status IN ('pending', 'failed', 'sent', 'abandoned', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The delivery worker claims due rows in this order with FOR UPDATE SKIP LOCKED.
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX notifications_account_idx ON notifications (account_id, created_at);

-- One row per certificate and warning threshold: the primary key makes each warning happen
-- once, whatever the number of instances and restarts (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE certificate_expiration_notices (
    certificate_id uuid        NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    threshold_days integer     NOT NULL CHECK (threshold_days > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (certificate_id, threshold_days)
);
CREATE INDEX certificate_expiration_notices_created_idx
    ON certificate_expiration_notices (created_at);
