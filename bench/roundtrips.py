"""Count the statements (round trips to PostgreSQL) one issuance costs, and which they are.

Starts a throwaway embedded PostgreSQL with `log_statement = 'all'` and ACMEEH (one gunicorn
worker), runs `loadgen.py --flows N` for two values of N, and divides the difference of the
logged statement counts by the difference of N: what set-up, the account and background
loops log cancels out. Then prints the statements of one flow by kind.

    .venv/bin/python bench/roundtrips.py [--mode auto-accept|http-01] [--flows 3,13]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import harness
import psycopg

HERE = Path(__file__).resolve().parent
STATEMENT = re.compile(r"LOG:\s+(?:statement|execute [^:]*): (.*)$")
SETTLE_SECONDS = 0.5
TOP = 40


def logged(log: Path) -> list[str]:
    """Every statement logged, on one line: PostgreSQL logs the further lines of a multi-line
    statement (the store's triple-quoted SQL) as continuation lines that start with a tab."""
    lines = log.read_text(errors="replace").splitlines()[:5_000_000]
    statements: list[str] = []
    continues = False  # the previous log line was a statement (or one of its lines)
    for line in lines:
        if (m := STATEMENT.search(line)) is not None:
            statements.append(m.group(1))
            continues = True
        elif continues and line.startswith("\t"):
            statements[-1] += " " + line.strip()
        else:
            continues = False
    return [" ".join(text.split()) for text in statements]


def run(flows: int, mode: str) -> list[str]:
    """The statements PostgreSQL logged while a fresh server ran `flows` flows."""
    with tempfile.TemporaryDirectory(prefix="acmeeh-roundtrips-") as tmp:
        work = Path(tmp)
        pg = harness.start_postgres(work)
        try:
            with psycopg.connect(pg.uri, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET log_statement = 'all'")
                conn.execute("SELECT pg_reload_conf()")
            database = pg.create_database("acmeeh")
            port, http01_port = harness.free_port(), harness.free_port()
            config = harness.acmeeh_config(
                port=port, database_url=database, ca=harness.generate_ca(work / "ca"),
                http01_port=http01_port, workers=1, worker_class="gthread", threads=4,
                auto_accept=mode == "auto-accept", pool_size=4,
            )
            server = harness.start_acmeeh(work / "server", config)
            try:
                subprocess.run(
                    [sys.executable, str(HERE / "loadgen.py"), "--directory", server.directory_url,
                     "--concurrency", "1", "--processes", "1", "--flows", str(flows),
                     "--mode", mode, "--http01-port", str(http01_port)],
                    check=True, stdout=subprocess.DEVNULL, timeout=300,
                )
                time.sleep(SETTLE_SECONDS)
            finally:
                server.stop()
            return logged(pg.pgdata / "log")
        finally:
            pg.stop()


def kind(statement: str) -> str:
    return " ".join(statement.split())[:110]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mode", choices=("auto-accept", "http-01"), default="auto-accept")
    p.add_argument("--flows", default="3,13", help="two flow counts (default 3,13)")
    args = p.parse_args()
    low, high = sorted(int(n) for n in args.flows.split(","))
    if high <= low:
        raise SystemExit("--flows needs two different counts")
    few, many = run(low, args.mode), run(high, args.mode)
    per_flow = (len(many) - len(few)) / (high - low)
    extra = Counter(kind(s) for s in many)
    extra.subtract(Counter(kind(s) for s in few))
    print(f"{args.mode}: {per_flow:.1f} statements per issuance (BEGIN and COMMIT included)")
    for text, count in sorted(extra.items(), key=lambda item: -item[1])[:TOP]:
        if count > 0:
            print(f"  {count / (high - low):5.1f}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
