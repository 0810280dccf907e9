"""The command line: `python -m acmeeh -c CONFIG [options] [command]` (see the deployment guide)."""

from __future__ import annotations

import argparse
from importlib import metadata

import acmeeh
from acmeeh.cli.admin.parser import add_admin


def version() -> str:
    """The installed distribution's version, or the package's own when not installed."""
    try:
        return metadata.version("acmeeh")
    except metadata.PackageNotFoundError:
        return acmeeh.__version__


def build_parser() -> argparse.ArgumentParser:
    """The parser; `args.command` is None (serve), "serve", "db", "ca", "crl", "admin", "config"
    or "inspect"."""
    parser = argparse.ArgumentParser(
        prog="acmeeh",
        description="ACMEEH: an ACME (RFC 8555) certificate authority server.",
        epilog="Without -c, --dev starts a zero-configuration development server "
        "(embedded PostgreSQL and a dev CA under ./.acmeeh-dev or $ACMEEH_DEV_HOME).",
    )
    parser.add_argument("-c", "--config", metavar="PATH", help="configuration file (YAML)")
    parser.add_argument("--debug", action="store_true", help="debug logging and full tracebacks")
    parser.add_argument(
        "--validate-only", action="store_true", help="validate the configuration and exit"
    )
    parser.add_argument("--dev", action="store_true", help="use the Flask development server")
    parser.add_argument("-v", "--version", action="version", version=f"acmeeh {version()}")
    commands = parser.add_subparsers(dest="command", metavar="command")

    serve = commands.add_parser("serve", help="start the server (the default)")
    serve.add_argument(
        "--dev", action="store_true", dest="serve_dev", help="use the Flask development server"
    )

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="action", required=True)
    db_commands.add_parser("status", help="check connectivity and list applied/pending migrations")
    db_commands.add_parser("migrate", help="apply pending migrations")

    ca = commands.add_parser("ca", help="certificate authority")
    ca_commands = ca.add_subparsers(dest="ca_command", metavar="action", required=True)
    ca_commands.add_parser("test-sign", help="sign a throw-away CSR and show the result")
    ca_init = ca_commands.add_parser(
        "init", help="create a demo CA (root and issuing intermediate) in DIR for labs and "
        "compose, not for production; needs no -c")
    ca_init.add_argument("directory", metavar="DIR",
                         help="folder for root.pem, intermediate.pem and intermediate-key.pem")
    ca_init.add_argument("--tls-name", action="append", default=[], metavar="NAME",
                         help="also issue tls.pem/tls-key.pem for this DNS name or IP address "
                         "(a demo proxy's certificate); repeatable")

    config = commands.add_parser("config", help="configuration files (needs no -c)")
    config_commands = config.add_subparsers(dest="config_command", metavar="action", required=True)
    migrate = config_commands.add_parser(
        "migrate", help="translate a configuration of the original ACMEEH into this version's")
    migrate.add_argument("old", metavar="OLD.yaml", help="the original configuration file")
    migrate.add_argument("-o", "--output", metavar="NEW.yaml",
                         help="write here (default: standard output)")
    migrate.add_argument("--force", action="store_true", help="overwrite an existing output file")

    crl = commands.add_parser("crl", help="certificate revocation list")
    crl_commands = crl.add_subparsers(dest="crl_command", metavar="action", required=True)
    crl_commands.add_parser("rebuild", help="build, sign and store a new CRL now")

    add_admin(commands)

    inspect = commands.add_parser("inspect", help="show an ACME object from the database")
    what = inspect.add_subparsers(dest="inspect_kind", metavar="kind", required=True)
    for kind, meta, text in (
        ("order", "id", "order with authorizations and challenges"),
        ("certificate", "id-or-serial", "certificate by id or serial number"),
        ("account", "id", "account with contacts and order count"),
    ):
        sub = what.add_parser(kind, help=text)
        sub.add_argument("id", metavar=meta)
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def wants_dev_server(args: argparse.Namespace) -> bool:
    """True when --dev was given globally or to `serve`."""
    return bool(args.dev or getattr(args, "serve_dev", False))


def needs_no_config(args: argparse.Namespace) -> bool:
    """True for the commands that work without -c: `config ...`, `ca init` and the admin
    commands that talk to the API (all but `admin create-user`)."""
    return args.command == "config" or (
        args.command == "ca" and getattr(args, "ca_command", None) == "init"
    ) or (args.command == "admin" and getattr(args, "admin_command", None) != "create-user")
