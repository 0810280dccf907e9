"""`crl rebuild`: build, sign and store a new CRL now (RFC 5280 §5), whatever the schedule."""
from __future__ import annotations

import argparse

from acmeeh.authority import crl
from acmeeh.authority.env import Env
from acmeeh.config import Settings
from acmeeh.store import db as store_db


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild and print the new CRL's number, times and entry count; 0 on success.

    Safe while servers run: builders take the same database lock one after the other, so the
    number printed is higher than that of every CRL built before.
    """
    pool = store_db.open_pool(settings.database, name="acmeeh-cli", wait=True)
    try:
        # Only settings, pool and clock are used by the CRL functions.
        env = Env(settings=settings, pool=pool, ca=None, validator=None, dispatch=lambda _id: None)
        row = crl.rebuild(env, crl.load_signer(env), force=True)
    finally:
        pool.close()
    print(f"CRL {row.number} built")
    print(f"  this update: {row.this_update.isoformat()}")
    print(f"  next update: {row.next_update.isoformat()}")
    print(f"  entries:     {row.entries}")
    return 0
