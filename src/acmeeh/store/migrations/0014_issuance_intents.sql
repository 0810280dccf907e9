-- Crash-safe issuance (issue 11 item 5): no serial is signed that the database does not know.
-- Finalize records the intent (serial, order, names, validity, key) in the statement that moves
-- the order ready → processing, which commits before the CA signs. Storing the certificate
-- deletes the intent in the same statement, so a row here is a serial whose certificate row was
-- never stored: signing in progress, a leaf kept after its insert failed (der set), or one whose
-- process died (der NULL; it may or may not have been signed). OCSP answers for these serials,
-- the CRL lists them once revoked, the admin API lists and revokes them, and the stale-order
-- recovery stores a kept leaf or records the order as given up (abandoned_at).
CREATE TABLE issuance_intents (
    serial            text        PRIMARY KEY CHECK (serial ~ '^[0-9a-f]+$'),
    order_id          uuid        NOT NULL UNIQUE,  -- no foreign key: retention may delete the order
    account_id        uuid        NOT NULL REFERENCES accounts (id),
    names             text[]      NOT NULL,
    not_before        timestamptz NOT NULL,
    not_after         timestamptz NOT NULL,
    spki_sha256       text        NOT NULL,
    der               bytea,
    pem_chain         text,
    signed_at         timestamptz,
    abandoned_at      timestamptz,
    revoked_at        timestamptz,
    revocation_reason integer,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((der IS NULL) = (pem_chain IS NULL)),
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
);
CREATE INDEX issuance_intents_page_idx ON issuance_intents (created_at DESC, serial COLLATE "C" DESC);
