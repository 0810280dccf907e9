"""WSGI entry point: `ACMEEH_CONFIG=/etc/acmeeh/config.yaml gunicorn "acmeeh.server.wsgi:app"`.

Nothing happens at import: the first access to `app` (per process) reads $ACMEEH_CONFIG,
configures logging, builds the app with create_app (which applies migrations when
database.auto_setup is true) and starts its runtime (validations and background loops), shut
down when the process exits; later accesses return the same app.
"""

from __future__ import annotations

import atexit
import functools
import os
from typing import Any

from acmeeh import runtime
from acmeeh.app import AcmeehApp, create_app
from acmeeh.config import load_settings
from acmeeh.logs import configure_logging

ENV_VAR = "ACMEEH_CONFIG"


@functools.cache
def build_app() -> AcmeehApp:
    """The process's app, built once. RuntimeError without $ACMEEH_CONFIG; ConfigError if bad."""
    path = os.environ.get(ENV_VAR)
    if not path:
        raise RuntimeError(
            f"{ENV_VAR} is not set: export {ENV_VAR}=/path/to/config.yaml "
            "before starting the WSGI server"
        )
    settings = load_settings(path)
    configure_logging(settings.logging.level, settings.logging.format)
    app = create_app(settings)
    atexit.register(runtime.start(app).shutdown)
    return app


def __getattr__(name: str) -> Any:
    # `application` is gunicorn's default name (`gunicorn acmeeh.server.wsgi`).
    if name in ("app", "application"):
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
