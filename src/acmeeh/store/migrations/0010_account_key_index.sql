-- Issue 11: a CSR whose key belongs to any account is refused (RFC 8555 §11.1), and a blocked
-- key (RFC 8555 §7.6) is refused at newAccount and keyChange. Both look a key up by the
-- SHA-256 of its SubjectPublicKeyInfo DER (hex), the form certificates.spki_sha256 has.
ALTER TABLE accounts ADD COLUMN spki_sha256 text;
CREATE INDEX accounts_spki_idx ON accounts (spki_sha256);

-- Existing accounts: build the SPKI DER from the stored public JWK (RFC 7517) in SQL, so no
-- account is left out of the index. Only what this backfill needs; dropped at the end.
CREATE FUNCTION pg_temp.b64url(text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT decode(rpad(translate($1, '-_', '+/'), ((length($1) + 3) / 4) * 4, '='), 'base64')
$$;

-- DER length octets (X.690 §8.1.3): short form below 128, else 0x81 / 0x82 and the length.
CREATE FUNCTION pg_temp.der_len(n integer) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN n < 128 THEN set_byte('\x00'::bytea, 0, n)
        WHEN n < 256 THEN '\x81'::bytea || set_byte('\x00'::bytea, 0, n)
        ELSE '\x82'::bytea || set_byte(set_byte('\x0000'::bytea, 0, n >> 8), 1, n & 255)
    END
$$;

CREATE FUNCTION pg_temp.der(tag bytea, body bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT tag || pg_temp.der_len(length(body)) || body
$$;

-- A positive INTEGER: a leading zero octet when the high bit is set (X.690 §8.3).
CREATE FUNCTION pg_temp.der_uint(magnitude bytea) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.der('\x02'::bytea, CASE WHEN get_byte(magnitude, 0) >= 128
                                           THEN '\x00'::bytea || magnitude ELSE magnitude END)
$$;

CREATE FUNCTION pg_temp.spki(jwk jsonb) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN jwk->>'kty' = 'RSA' THEN pg_temp.der('\x30'::bytea,
            '\x300d06092a864886f70d0101010500'::bytea
            || pg_temp.der('\x03'::bytea, '\x00'::bytea || pg_temp.der('\x30'::bytea,
                 pg_temp.der_uint(pg_temp.b64url(jwk->>'n'))
                 || pg_temp.der_uint(pg_temp.b64url(jwk->>'e')))))
        WHEN jwk->>'crv' = 'P-256' THEN '\x3059301306072a8648ce3d020106082a8648ce3d030107034200'::bytea
            || '\x04'::bytea || pg_temp.b64url(jwk->>'x') || pg_temp.b64url(jwk->>'y')
        WHEN jwk->>'crv' = 'P-384' THEN '\x3076301006072a8648ce3d020106052b81040022036200'::bytea
            || '\x04'::bytea || pg_temp.b64url(jwk->>'x') || pg_temp.b64url(jwk->>'y')
        WHEN jwk->>'crv' = 'P-521' THEN '\x30819b301006072a8648ce3d020106052b8104002303818600'::bytea
            || '\x04'::bytea || pg_temp.b64url(jwk->>'x') || pg_temp.b64url(jwk->>'y')
        WHEN jwk->>'crv' = 'Ed25519' THEN '\x302a300506032b6570032100'::bytea
            || pg_temp.b64url(jwk->>'x')
    END
$$;

UPDATE accounts SET spki_sha256 = encode(sha256(pg_temp.spki(jwk)), 'hex')
    WHERE spki_sha256 IS NULL AND pg_temp.spki(jwk) IS NOT NULL;

DROP FUNCTION pg_temp.spki(jsonb);
DROP FUNCTION pg_temp.der_uint(bytea);
DROP FUNCTION pg_temp.der(bytea, bytea);
DROP FUNCTION pg_temp.der_len(integer);
DROP FUNCTION pg_temp.b64url(text);
