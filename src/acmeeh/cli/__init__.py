"""Command line: python -m acmeeh -c CONFIG [serve|db|ca|crl|admin|inspect]; `config migrate`,
`ca init` and the admin API commands need no -c; dev.py = zero-config mode."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Protocol

from acmeeh.cli.args import build_parser, needs_no_config, wants_dev_server
from acmeeh.cli.report import config_summary, one_line
from acmeeh.config import ConfigError, Settings, load_settings
from acmeeh.logs import configure_logging

# Each command lives in its own module, imported only when run, so `--version` and
# `--validate-only` never load Flask, gunicorn or psycopg.
_COMMANDS = {
    None: "acmeeh.cli.serve",
    "serve": "acmeeh.cli.serve",
    "db": "acmeeh.cli.db",
    "ca": "acmeeh.cli.ca",
    "crl": "acmeeh.cli.crl",
    "admin": "acmeeh.cli.admin.bootstrap",
}
# Commands that run without a configuration file: module.run_standalone(args).
_STANDALONE = {"config": "acmeeh.cli.config_migrate", "ca": "acmeeh.cli.ca_init",
               "admin": "acmeeh.cli.admin.dispatch"}
_INSPECT = "acmeeh.cli.inspect"


class _Command(Protocol):
    def run(self, args: argparse.Namespace, settings: Settings) -> int: ...


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 success; 1 runtime error (one line on stderr, traceback with --debug);
    2 invalid configuration or usage (every problem listed on stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except ConfigError as exc:
        _print_config_errors(args.config, exc.errors)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            traceback.print_exc()
        print(f"acmeeh: error: {one_line(exc)}", file=sys.stderr)
        return 1


def _print_config_errors(path: str | None, errors: list[str]) -> None:
    if len(errors) == 1:
        print(f"acmeeh: config error: {errors[0]}", file=sys.stderr)
        return
    where = path or "development settings"
    print(f"acmeeh: config error: {where}: {len(errors)} problems", file=sys.stderr)
    for error in errors:
        print(f"  {error}", file=sys.stderr)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if needs_no_config(args) and not args.validate_only:
        configure_logging("DEBUG" if args.debug else "INFO", "text")
        return int(importlib.import_module(_STANDALONE[args.command]).run_standalone(args))
    if args.config is None:
        if wants_dev_server(args) and args.command in (None, "serve") and not args.validate_only:
            dev = importlib.import_module("acmeeh.cli.dev")
            return int(dev.run(args))
        parser.error("-c/--config is required (or --dev alone for a zero-configuration dev server)")
    settings = load_settings(args.config)
    configure_logging("DEBUG" if args.debug else settings.logging.level, settings.logging.format)
    if args.validate_only:
        print(config_summary(settings))
        return 0
    return _dispatch(args, settings)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "inspect":
        try:
            module: _Command = importlib.import_module(_INSPECT)
        except ModuleNotFoundError as exc:
            if exc.name != _INSPECT:
                raise
            print("inspect is not available", file=sys.stderr)
            return 1
    else:
        module = importlib.import_module(_COMMANDS[args.command])
    return int(module.run(args, settings))
