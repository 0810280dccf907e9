-- Revocation status (issue 4): CRLs (RFC 5280 §5), renewal information (RFC 9773).

-- One row: the last CRL number handed out. A builder takes it with SELECT ... FOR UPDATE and
-- bumps it in the transaction that stores its CRL, so builders on any number of instances run
-- one at a time and RFC 5280 §5.2.3's "monotonically increasing" number never goes backwards.
CREATE TABLE crl_state (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_number bigint  NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);
INSERT INTO crl_state (id, last_number) VALUES (true, 0);

-- Every CRL built; the highest number is the one served. `revoked_total` and `revoked_newest`
-- describe the revocations the build saw (all of them, expired certificates included), so a
-- later revocation is noticed by comparing them with the live figures.
CREATE TABLE crls (
    number         bigint      PRIMARY KEY CHECK (number > 0),
    der            bytea       NOT NULL,
    this_update    timestamptz NOT NULL,
    next_update    timestamptz NOT NULL CHECK (next_update > this_update),
    entries        integer     NOT NULL CHECK (entries >= 0),
    revoked_total  bigint      NOT NULL CHECK (revoked_total >= 0),
    revoked_newest timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- RFC 9773 §5: a certificate is replaced by at most one order that is not invalid.
-- orders.replaces holds the canonical ARI certID of the replaced certificate.
CREATE UNIQUE INDEX orders_replaces_once_idx ON orders (replaces)
    WHERE replaces IS NOT NULL AND status <> 'invalid';

-- RFC 9773 §4.2: a window chosen by an operator (admin API) overrides the computed one.
CREATE TABLE renewal_windows (
    certificate_id  uuid        PRIMARY KEY REFERENCES certificates (id) ON DELETE CASCADE,
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL CHECK (window_end > window_start),
    explanation_url text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
