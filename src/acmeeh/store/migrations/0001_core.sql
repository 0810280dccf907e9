-- Core ACME state (RFC 8555): accounts, orders, authorizations, challenges, certificates, nonces.
-- Statuses are text checked against the RFC's vocabulary; transitions are enforced by
-- compare-and-set updates in acmeeh.store and the tables in acmeeh.authority.states.

CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    jwk         jsonb       NOT NULL,
    thumbprint  text        NOT NULL UNIQUE,
    status      text        NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
    contact     text[]      NOT NULL DEFAULT '{}',
    tos_agreed  boolean     NOT NULL DEFAULT false,
    eab_kid     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id             uuid PRIMARY KEY,
    account_id     uuid        NOT NULL REFERENCES accounts (id),
    status         text        NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    identifiers    jsonb       NOT NULL,
    not_before     timestamptz,
    not_after      timestamptz,
    expires        timestamptz NOT NULL,
    error          jsonb,
    certificate_id uuid,
    replaces       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account_idx ON orders (account_id, created_at DESC);
CREATE INDEX orders_open_expiry_idx ON orders (expires) WHERE status IN ('pending', 'ready');
CREATE INDEX orders_processing_idx ON orders (updated_at) WHERE status = 'processing';

CREATE TABLE authorizations (
    id               uuid PRIMARY KEY,
    account_id       uuid        NOT NULL REFERENCES accounts (id),
    identifier_type  text        NOT NULL CHECK (identifier_type IN ('dns', 'ip')),
    identifier_value text        NOT NULL,
    wildcard         boolean     NOT NULL DEFAULT false,
    status           text        NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
    expires          timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Reuse of still-valid authorizations looks up (account, identifier) among valid ones.
CREATE INDEX authorizations_reuse_idx
    ON authorizations (account_id, identifier_type, identifier_value, wildcard, expires)
    WHERE status = 'valid';
CREATE INDEX authorizations_expiry_idx ON authorizations (expires);

CREATE TABLE order_authorizations (
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    authorization_id uuid NOT NULL REFERENCES authorizations (id),
    PRIMARY KEY (order_id, authorization_id)
);
CREATE INDEX order_authorizations_authz_idx ON order_authorizations (authorization_id);

CREATE TABLE challenges (
    id               uuid PRIMARY KEY,
    authorization_id uuid        NOT NULL REFERENCES authorizations (id) ON DELETE CASCADE,
    type             text        NOT NULL CHECK (type IN ('http-01', 'dns-01', 'tls-alpn-01')),
    token            text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
    validated_at     timestamptz,
    error            jsonb,
    records          jsonb,
    attempts         integer     NOT NULL DEFAULT 0,
    processing_since timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authorization_id, type)
);
CREATE INDEX challenges_processing_idx ON challenges (processing_since) WHERE status = 'processing';

CREATE TABLE certificates (
    id                uuid PRIMARY KEY,
    serial            text        NOT NULL UNIQUE,
    account_id        uuid        NOT NULL REFERENCES accounts (id),
    order_id          uuid        NOT NULL UNIQUE REFERENCES orders (id),
    der               bytea       NOT NULL,
    pem_chain         text        NOT NULL,
    names             text[]      NOT NULL,
    not_before        timestamptz NOT NULL,
    not_after         timestamptz NOT NULL,
    fingerprint       text        NOT NULL,
    spki_sha256       text        NOT NULL,
    revoked_at        timestamptz,
    revocation_reason integer,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificates_account_idx ON certificates (account_id);
CREATE INDEX certificates_not_after_idx ON certificates (not_after);
CREATE INDEX certificates_revoked_idx ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;

ALTER TABLE orders ADD CONSTRAINT orders_certificate_fk
    FOREIGN KEY (certificate_id) REFERENCES certificates (id) DEFERRABLE INITIALLY DEFERRED;

-- Nonces live in the database so any instance can redeem what another issued (RFC 8555 §6.5).
CREATE TABLE nonces (
    value      text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX nonces_expiry_idx ON nonces (expires_at);
