"""Run an admin API command: resolve URL and token, call the handler, map failures to exit
codes (see client.py)."""
from __future__ import annotations

import argparse
import sys

from .client import CliError
from .context import build


def run_standalone(args: argparse.Namespace) -> int:
    """Every admin command but create-user; the exit code."""
    try:
        ctx = build(args, needs_token=args.needs_token)
        return int(args.handler(ctx))
    except CliError as exc:
        print(f"acmeeh: {exc}", file=sys.stderr)
        return exc.code
