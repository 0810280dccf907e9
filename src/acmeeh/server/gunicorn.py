"""Gunicorn, driven programmatically from Settings: `python -m acmeeh -c CONFIG serve`.

The master never builds the app (no preload): each worker calls create_app(settings) in
`load()` after the fork, so pools and threads are per process.
Signals (gunicorn's master): TERM and INT stop gracefully within server.graceful_timeout;
HUP re-reads the configuration file and replaces the workers (see `reloaded`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from acmeeh.app import create_app
from acmeeh.config import ConfigError, Settings, load_settings
from acmeeh.logs import reconfigure_level

log = logging.getLogger("acmeeh.server")

# Sections a SIGHUP does not change: they shape sockets, pools, the CA and the directory.
RESTART_ONLY = ("server", "database", "ca", "challenges")


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


def reloaded(old: Settings, new: Settings) -> Settings:
    """`new`, except the RESTART_ONLY sections, which keep their running values (logged)."""
    kept = {name: getattr(old, name) for name in RESTART_ONLY}
    changed = [name for name in RESTART_ONLY if getattr(new, name) != kept[name]]
    if changed:
        log.warning(
            "SIGHUP: changes to %s need a restart; keeping the running values", ", ".join(changed)
        )
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
