-- Nonces are now minted without a database write: each one carries its expiry and an HMAC
-- under a key every instance shares (server_secrets). The nonces table records nonces once
-- redeemed, until they expire, so each is accepted once across all instances.
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE nonces IS 'redeemed nonces, kept until they expire (RFC 8555 §6.5 replay protection)';
