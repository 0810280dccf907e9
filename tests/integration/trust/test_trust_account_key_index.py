"""Migration 0010 indexes every existing account by the SHA-256 of its key's SPKI DER, built
in SQL from the stored JWK; the result must equal what the server computes for new accounts."""
from __future__ import annotations

import uuid

import josepy
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from psycopg.types.json import Jsonb
from support.database import fresh_database, server_url, unique_name

from acmeeh.protocol import keys
from acmeeh.protocol.jws import JWKOKP
from acmeeh.store import migrate

INDEX_MIGRATION = "0010_account_key_index.sql"


def _keys() -> list:
    # 2048 and 3072 bits: the modulus's first octet has its high bit set (a leading zero octet
    # in DER); 2047 bits: clear (none).
    return [rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 3072),
            rsa.generate_private_key(65537, 2047), ec.generate_private_key(ec.SECP256R1()),
            ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP521R1()),
            ed25519.Ed25519PrivateKey.generate()]


def _jwk(key) -> dict:
    """The JWK as the server stores it (authority.accounts.jwk_json)."""
    public = key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        return dict(JWKOKP(key=public).to_json())
    kind = josepy.JWKRSA if isinstance(public, rsa.RSAPublicKey) else josepy.JWKEC
    return dict(kind(key=public).to_json())


@pytest.fixture
def database():
    name = unique_name("keyidx")
    url = fresh_database(name)
    yield url
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backfill_matches_the_servers_spki_hash(database) -> None:
    shipped = migrate.available()
    names = [n for n, _ in shipped]
    before = shipped[: names.index(INDEX_MIGRATION)]
    made = _keys()
    with psycopg.connect(database, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
            for name, text in before:
                conn.execute(text)
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
        ids = []
        for key in made:
            account_id = uuid.uuid4()
            conn.execute("INSERT INTO accounts (id, jwk, thumbprint, status) VALUES (%s, %s, %s,"
                         " 'valid')", (account_id, Jsonb(_jwk(key)), account_id.hex))
            ids.append(account_id)
        assert INDEX_MIGRATION in migrate.migrate(conn)
        for account_id, key in zip(ids, made, strict=True):
            row = conn.execute("SELECT spki_sha256 FROM accounts WHERE id = %s",
                               (account_id,)).fetchone()
            assert row[0] == keys.spki_sha256(key.public_key()), type(key).__name__
