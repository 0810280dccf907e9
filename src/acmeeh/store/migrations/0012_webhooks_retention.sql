-- Webhooks: admins subscribe URLs to events; each event writes one delivery row per matching
-- subscription in the transaction of the event (an outbox, like notifications), and the
-- webhook worker POSTs them, signed, retrying with backoff until delivered or dead.

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    url         text        NOT NULL,
    events      text[]      NOT NULL CHECK (cardinality(events) > 0),
    -- The HMAC-SHA256 key of the signature header: shown once at creation, never again.
    secret      text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    enabled     boolean     NOT NULL DEFAULT true,
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_page_idx ON webhooks (created_at DESC, id DESC);

--   pending   → waiting for its first attempt
--   failed    → an attempt failed; retried at next_attempt_at (exponential backoff)
--   delivered → the receiver answered 2xx
--   dead      → failed webhooks.max_attempts times (a dead letter; an admin may retry it)
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    event           text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL
                    CHECK (status IN ('pending', 'failed', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    last_status     integer,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_page_idx ON webhook_deliveries (created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_hook_idx ON webhook_deliveries (webhook_id, created_at DESC);
-- Retention deletes delivered rows by age.
CREATE INDEX webhook_deliveries_delivered_idx ON webhook_deliveries (updated_at)
    WHERE status = 'delivered';

-- Retention deletes sent and skipped notifications by age.
CREATE INDEX notifications_finished_idx ON notifications (updated_at)
    WHERE status IN ('sent', 'skipped');
