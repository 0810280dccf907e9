"""server_secrets table: random keys every instance of one deployment shares."""
from __future__ import annotations

import psycopg


def shared_secret(conn: psycopg.Connection, name: str, candidate: bytes) -> bytes:
    """The stored secret `name`; the first caller's `candidate` becomes it."""
    conn.execute(
        "INSERT INTO server_secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        (name, candidate),
    )
    row = conn.execute("SELECT value FROM server_secrets WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return bytes(row[0])
