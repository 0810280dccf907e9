"""CRL worker (advisory lock 712004): rebuilds the CRL on its interval and within
`crl.poll_seconds` of any revocation.

Each tick asks `authority.crl.due` (two small reads); only when a rebuild is due does it build.
The leader lock keeps one instance polling; the builder row lock in the database keeps any
other builder (the CLI, an on-demand build) from running at the same time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from ..authority import crl
from ..authority.env import Env

log = logging.getLogger("acmeeh.workers.crl")


def make_tick(env: Env) -> Callable[[], str | None]:
    """The loop body for `env`: the reason it rebuilt ("revocation", "interval", ...) or None.

    Loads the CA key once, now (CAError when unreadable, so a bad CA fails at start-up).
    """
    signer = crl.load_signer(env)

    def tick() -> str | None:
        reason = crl.due(env)
        if reason is None:
            return None
        row = crl.rebuild(env, signer, force=False)
        log.debug("CRL %d ready (%s)", row.number, reason)
        return reason

    return tick
