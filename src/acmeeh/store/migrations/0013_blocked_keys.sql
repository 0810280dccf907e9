-- RFC 8555 §7.6: a key revoked for keyCompromise is blocked. Keys are named by the SHA-256 of
-- their SubjectPublicKeyInfo DER (hex), as accounts.spki_sha256 and certificates.spki_sha256.
CREATE TABLE IF NOT EXISTS blocked_keys (
    spki_sha256    text        PRIMARY KEY CHECK (spki_sha256 ~ '^[0-9a-f]{64}$'),
    source         text        NOT NULL CHECK (source IN ('revocation', 'admin')),
    certificate_id uuid,        -- the certificate whose revocation reported the key, if any
    comment        text        NOT NULL DEFAULT '',
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS blocked_keys_page_idx ON blocked_keys (created_at DESC, spki_sha256 DESC);

-- "The account's other unexpired certificates that carry the same key are revoked too":
-- certificates by key.
CREATE INDEX IF NOT EXISTS certificates_spki_idx ON certificates (spki_sha256);
