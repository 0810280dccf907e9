"""server_secrets table: random keys every instance of one deployment shares."""
from __future__ import annotations

import psycopg

# The first caller's candidate becomes the secret; later ones keep what is stored.
OFFER = """
INSERT INTO server_secrets (name, value) VALUES (%(name)s, %(value)s)
ON CONFLICT (name) DO NOTHING
"""

GET = """
SELECT value FROM server_secrets WHERE name = %(name)s
"""


def shared_secret(conn: psycopg.Connection, name: str, candidate: bytes) -> bytes:
    """The stored secret `name`; the first caller's `candidate` becomes it."""
    conn.execute(OFFER, {"name": name, "value": candidate})
    row = conn.execute(GET, {"name": name}).fetchone()
    assert row is not None
    return bytes(row[0])
