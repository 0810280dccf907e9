"""`config migrate OLD.yaml [-o NEW.yaml]`: translate an original ACMEEH configuration.

The new file goes to -o (never over an existing file without --force) or standard output; every
decision (kept, moved, dropped and why) goes to standard error. The result is validated as
--validate-only would; only environment variables that are not set here are tolerated, since the
new file keeps the old ${VAR} references.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from acmeeh.config import ConfigError, settings_from_dict
from acmeeh.config.migration import Result, migrate

_UNSET = re.compile(r": environment variable \w+ is not set$")
HEADER = "# Migrated from {old} by `python -m acmeeh config migrate`; review the notes it printed.\n"


def run_standalone(args: argparse.Namespace) -> int:
    """0 when the new configuration validates, 2 when it does not (or the old file is unusable)."""
    old_path = Path(args.old)
    try:
        old = yaml.safe_load(old_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        print(f"acmeeh: config migrate: cannot read {old_path}: {' '.join(str(exc).split())}",
              file=sys.stderr)
        return 2
    if not isinstance(old, dict):
        print(f"acmeeh: config migrate: {old_path} is not a mapping", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else None
    if output is not None and output.exists() and not args.force:
        print(f"acmeeh: config migrate: {output} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    result = migrate(old)
    for note in result.notes:
        print(f"{note.old}: {note.message}", file=sys.stderr)
    text = HEADER.format(old=old_path.name) + yaml.safe_dump(
        result.config, sort_keys=False, default_flow_style=False, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return _validate(result)


def _validate(result: Result) -> int:
    try:
        settings_from_dict(result.config)
    except ConfigError as exc:
        real = [e for e in exc.errors if not _UNSET.search(e)]
        for error in exc.errors:
            if error not in real:
                print(f"note: {error} (set it before starting the server)", file=sys.stderr)
        if real:
            print("acmeeh: config migrate: the new configuration needs attention:", file=sys.stderr)
            for error in real:
                print(f"  {error}", file=sys.stderr)
            return 2
    return 0
