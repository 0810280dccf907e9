"""`serve` (the default command): gunicorn in production, Flask's server with --dev.

prometheus_client decides between single- and multi-process mode when it is first imported,
and the app imports it. So this module imports the app and the gunicorn runner only once
PROMETHEUS_MULTIPROC_DIR is set (importlib, as cli/__init__ does for commands): the gunicorn
master and every worker it forks then write and read the same metric files.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from acmeeh.cli.args import wants_dev_server
from acmeeh.cli.db import apply_migrations
from acmeeh.config import Settings

log = logging.getLogger("acmeeh.cli")
# prometheus_client's variable (acmeeh.metrics.MULTIPROC_ENV; not imported here, see above).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate once here, before any fork, when database.auto_setup is set; then serve."""
    if settings.database.auto_setup:
        apply_migrations(settings)
    if wants_dev_server(args):
        return run_dev_server(settings)
    with metrics_directory():
        return int(importlib.import_module("acmeeh.server.gunicorn").run_gunicorn(settings))


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """A fresh, empty PROMETHEUS_MULTIPROC_DIR for this server, removed when the master ends.

    A directory the environment already names is used as is and kept (the operator owns it
    and must empty it between runs).
    """
    preset = os.environ.get(MULTIPROC_ENV)
    if preset:
        yield Path(preset)
        return
    owner = os.getpid()
    path = Path(tempfile.mkdtemp(prefix="acmeeh-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        # Forked workers leave through here too (SystemExit unwinds their copy of this frame):
        # only the master removes the directory.
        if os.getpid() == owner:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(path, ignore_errors=True)


def run_dev_server(settings: Settings) -> int:
    """Serve with Flask's threaded development server until Ctrl-C (not for production)."""
    log.warning("using the Flask development server: not for production use")
    # SIGTERM and SIGINT both end serve_forever through KeyboardInterrupt, so the runtime shuts
    # down and atexit handlers (an embedded database) run; SIGINT even when inherited ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "SIGHUP"):  # its default action would end the server
        signal.signal(signal.SIGHUP, _no_reload)
    app = importlib.import_module("acmeeh.app").create_app(settings)
    runtime = importlib.import_module("acmeeh.runtime").start(app)
    try:
        app.run(
            host=settings.server.bind,
            port=settings.server.port,
            threaded=True,
            debug=False,
            use_reloader=False,
        )
    finally:
        runtime.shutdown()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _no_reload(signum: int, frame: FrameType | None) -> None:
    log.warning("SIGHUP: the development server does not reload its configuration; restart it")
