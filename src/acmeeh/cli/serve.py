"""`serve` (the default command): gunicorn in production, Flask's server with --dev."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from acmeeh.app import create_app
from acmeeh.cli.args import wants_dev_server
from acmeeh.cli.db import apply_migrations
from acmeeh.config import Settings
from acmeeh.server.gunicorn import run_gunicorn

log = logging.getLogger("acmeeh.cli")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate once here, before any fork, when database.auto_setup is set; then serve."""
    if settings.database.auto_setup:
        apply_migrations(settings)
    if wants_dev_server(args):
        return run_dev_server(settings)
    return run_gunicorn(settings)


def run_dev_server(settings: Settings) -> int:
    """Serve with Flask's threaded development server until Ctrl-C (not for production)."""
    log.warning("using the Flask development server: not for production use")
    # SIGTERM and SIGINT both end serve_forever through KeyboardInterrupt, so atexit handlers
    # (pool, validation threads, an embedded database) run; SIGINT even when inherited ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    app = create_app(settings)
    app.run(
        host=settings.server.bind,
        port=settings.server.port,
        threaded=True,
        debug=False,
        use_reloader=False,
    )
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
