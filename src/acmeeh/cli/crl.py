"""`crl rebuild`: build, sign and store a new CRL now (RFC 5280 §5), whatever the schedule."""
from __future__ import annotations

import argparse
import uuid

from acmeeh.authority import crl
from acmeeh.authority.env import Env
from acmeeh.config import Settings
from acmeeh.issuance import load_backend
from acmeeh.store import db as store_db
from acmeeh.validation import NetworkValidator


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild and print the new CRL's number, times and entry count; 0 on success.

    Safe while servers run: builders take the same database lock one after the other, so the
    number printed is higher than that of every CRL built before.
    """
    pool = store_db.open_pool(settings.database, name="acmeeh-cli", wait=True)
    try:
        env = Env(settings=settings, pool=pool, ca=load_backend(settings.ca),
                  validator=NetworkValidator(settings.challenges), dispatch=_no_validations)
        row = crl.rebuild(env, crl.load_signer(env), force=True)
    finally:
        pool.close()
    print(f"CRL {row.number} built")
    print(f"  this update: {row.this_update.isoformat()}")
    print(f"  next update: {row.next_update.isoformat()}")
    print(f"  entries:     {row.entries}")
    return 0


def _no_validations(challenge_id: uuid.UUID, delay: float = 0.0) -> None:
    """The CLI answers no challenge: a CRL rebuild never dispatches a validation."""
    raise RuntimeError(f"crl rebuild cannot validate challenge {challenge_id}")
