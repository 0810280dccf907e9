"""Gunicorn, driven programmatically from Settings: `python -m acmeeh -c CONFIG serve`.

The master never builds the app (no preload): each worker calls create_app(settings) in
`load()` after the fork, then `post_worker_init` starts its runtime (runtime.start), so pools
and threads are per process.

Signals (gunicorn's master):
- TERM and INT: graceful stop. The master closes its listeners and sends TERM to every worker;
  a worker stops accepting, answers /readyz 503 (`post_worker_init` chains the TERM handler),
  finishes its requests within server.graceful_timeout, then `worker_exit` runs
  Runtime.shutdown with what is left of that time (validations finish or go back to pending,
  the background loops stop and release their locks, the pool closes).
- HUP: `reload` re-reads the file (an invalid file is logged and the running settings kept),
  the master applies logging.level, then gunicorn starts new workers, which build the app from
  the new settings (so notifications, metrics.enabled, security... take effect), and stops the
  old ones gracefully. Sections in RESTART_ONLY keep their running values (logged).
Metrics: the caller (cli.serve) sets PROMETHEUS_MULTIPROC_DIR before this module is imported;
`child_exit` drops a dead worker's live gauges.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from acmeeh import metrics
from acmeeh import runtime as process_runtime
from acmeeh.app import STARTED_AT_ENV, AcmeehApp, create_app
from acmeeh.config import ConfigError, Settings, load_settings
from acmeeh.logs import reconfigure_level
from acmeeh.runtime import Runtime

log = logging.getLogger("acmeeh.server")

# Sections a SIGHUP does not change: they shape sockets, pools, the CA and the directory.
RESTART_ONLY = ("server", "database", "ca", "challenges")
# Kept from server.graceful_timeout for the drain and the pool close before the master's SIGKILL.
DRAIN_RESERVE_SECONDS = 2.0
# A worker told to quit at once (SIGQUIT, or SIGINT sent to the worker itself).
QUICK_SHUTDOWN_SECONDS = 0.5


def bind_address(host: str, port: int) -> str:
    """gunicorn's bind string; IPv6 literals get brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings derived from settings.server (and the log level)."""
    server = settings.server
    return {
        "bind": [bind_address(server.bind, server.port)],
        "workers": server.workers,
        "worker_class": server.worker_class,
        "threads": server.threads,
        "timeout": server.timeout,
        "graceful_timeout": server.graceful_timeout,
        "keepalive": server.keepalive,
        "max_requests": server.max_requests,
        "max_requests_jitter": server.max_requests_jitter,
        "preload_app": False,
        "proc_name": "acmeeh",
        "loglevel": settings.logging.level.lower(),
        "logger_class": RootLogger,
    }


def runtime_of(worker: Any) -> Runtime | None:
    """The Runtime of the app a worker loaded (None before it loaded one)."""
    app = getattr(worker, "wsgi", None)
    return app.runtime if isinstance(app, AcmeehApp) else None


def on_starting(server: Any) -> None:
    """Master, before the first fork: the start time every worker's uptime counts from."""
    os.environ.setdefault(STARTED_AT_ENV, repr(time.time()))
    if server.cfg.workers > 1 and not os.environ.get(metrics.MULTIPROC_ENV):
        log.warning("%s is not set: a metrics scrape shows one worker's samples only",
                    metrics.MULTIPROC_ENV)


def post_worker_init(worker: Any) -> None:
    """Worker, after it loaded the app: start its runtime (validations, background loops);
    on TERM, stop being ready at once (before gunicorn's own handler runs)."""
    app = getattr(worker, "wsgi", None)
    if not isinstance(app, AcmeehApp):
        return
    runtime = process_runtime.start(app)
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def on_term(signum: int, frame: Any) -> None:
        runtime.begin_shutdown()
        previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn: do not disturb requests' IO


def worker_exit(server: Any, worker: Any) -> None:
    """Worker, after it stopped serving: shut down within what is left of graceful_timeout."""
    runtime = runtime_of(worker)
    if runtime is None:
        return
    since = runtime.stopping_since or time.monotonic()
    left = server.cfg.graceful_timeout - (time.monotonic() - since) - DRAIN_RESERVE_SECONDS
    runtime.shutdown(timeout=max(0.0, left))


def worker_int(worker: Any) -> None:
    """Worker told to quit at once: drain without waiting for validations."""
    runtime = runtime_of(worker)
    if runtime is not None:
        runtime.shutdown(timeout=QUICK_SHUTDOWN_SECONDS)


def child_exit(server: Any, worker: Any) -> None:
    """Master: a worker is gone; remove its live gauge files (multiprocess metrics)."""
    metrics.mark_process_dead(worker.pid)


# The gunicorn server hooks this module sets (see the module docstring).
HOOKS = {
    "on_starting": on_starting,
    "post_worker_init": post_worker_init,
    "worker_int": worker_int,
    "worker_exit": worker_exit,
    "child_exit": child_exit,
}


def reloaded(old: Settings, new: Settings) -> Settings:
    """`new`, except the RESTART_ONLY sections, which keep their running values (logged)."""
    kept = {name: getattr(old, name) for name in RESTART_ONLY}
    changed = [name for name in RESTART_ONLY if getattr(new, name) != kept[name]]
    if changed:
        log.warning(
            "SIGHUP: changes to %s need a restart; keeping the running values", ", ".join(changed)
        )
    applied = [f.name for f in dataclasses.fields(new)
               if f.name not in RESTART_ONLY and f.name != "source_path"
               and getattr(new, f.name) != getattr(old, f.name)]
    if applied:
        log.info("SIGHUP: applying changes to %s (new workers)", ", ".join(applied))
    return dataclasses.replace(new, **kept)


class RootLogger(Logger):  # type: ignore[misc]
    """gunicorn's error log through the root handler, so it gets our format and redaction."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class _Arbiter(Arbiter):  # type: ignore[misc]
    def handle_int(self) -> None:
        # The deployment guide promises a graceful stop on SIGINT as on SIGTERM.
        self.handle_term()


class AcmeehApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn application whose workers each build the app with create_app(settings)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in gunicorn_options(self.settings).items():
            self.cfg.set(key, value)
        for key, hook in HOOKS.items():
            self.cfg.set(key, hook)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn >= 27 opens a control socket under ~/.gunicorn by default; we do not use it.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        return create_app(self.settings)

    def reload(self) -> None:
        """SIGHUP: re-read the file; an invalid file is logged and the running settings kept."""
        path = self.settings.source_path
        if path is not None:
            try:
                self.settings = reloaded(self.settings, load_settings(path))
            except ConfigError as exc:
                log.error(
                    "SIGHUP: %s is invalid, keeping the running configuration:\n%s", path, exc
                )
            else:
                reconfigure_level(self.settings.logging.level)
                log.info("SIGHUP: configuration reloaded from %s", path)
        super().reload()

    def run(self) -> None:
        _Arbiter(self).run()


def run_gunicorn(settings: Settings) -> int:
    """Serve until stopped by a signal; gunicorn exits the process on fatal errors."""
    AcmeehApplication(settings).run()
    return 0
