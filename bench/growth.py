"""The cost of growth: does issuance and lookup stay flat with 1,000 vs 1,000,000 certificates?

    .venv/bin/python bench/growth.py            # sizes 1,000 and 1,000,000
    .venv/bin/python bench/growth.py --quick    # sizes 1,000 and 20,000, shorter runs

Same set-up as run_matrix.py (embedded PostgreSQL with fsync and synchronous_commit on, ACMEEH
under gunicorn, auto-accept mode). Certificates (each with its order) are bulk-loaded straight
into PostgreSQL with generate_series INSERTs, copying the DER and chain of a real issued
certificate. At each size it measures issuance through ACME (bench/loadgen.py), certificate
lookups through the store's own queries, the admin searches (if acmeeh.admin exists) and the
CRL build with up to 100,000 revoked certificates (if acmeeh.authority.crl exists).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import growth_probes as probes
import psycopg
from harness import ROOT, acmeeh_config, free_port, generate_ca, start_acmeeh, start_postgres
from procstat import wait_quiet

LOADGEN = Path(__file__).resolve().with_name("loadgen.py")
CHUNK = 50_000  # rows per bulk-load transaction
BULK_ACCOUNTS = 1000

_ACCOUNTS = """
INSERT INTO accounts (id, jwk, thumbprint, status)
SELECT md5('a' || g)::uuid, jsonb_build_object('kty', 'EC', 'bulk', g), 'bulk-' || g, 'valid'
FROM generate_series(0, %(n)s - 1) AS g ON CONFLICT DO NOTHING
"""
# Each bulk certificate i: id md5('c'||i), serial '1'||md5('s'||i) (lower-case hex, no leading
# zero), order md5('o'||i), account md5('a'||(i % 1000)), name h<i>.bulk.localhost, with its
# valid authorization md5('z'||i) and valid http-01 challenge md5('h'||i), as issuance leaves them.
_ORDERS = """
INSERT INTO orders (id, account_id, status, identifiers, expires, certificate_id)
SELECT md5('o' || g)::uuid, md5('a' || (g %% %(accounts)s))::uuid, 'valid',
       jsonb_build_array(jsonb_build_object('type', 'dns', 'value', 'h' || g || '.bulk.localhost')),
       now() + interval '7 days', md5('c' || g)::uuid
FROM generate_series(%(lo)s, %(hi)s - 1) AS g
"""
_AUTHZS = """
INSERT INTO authorizations (id, account_id, identifier_type, identifier_value, status, expires)
SELECT md5('z' || g)::uuid, md5('a' || (g %% %(accounts)s))::uuid, 'dns',
       'h' || g || '.bulk.localhost', 'valid', now() + interval '30 days'
FROM generate_series(%(lo)s, %(hi)s - 1) AS g
"""
_LINKS = """
INSERT INTO order_authorizations (order_id, authorization_id)
SELECT md5('o' || g)::uuid, md5('z' || g)::uuid FROM generate_series(%(lo)s, %(hi)s - 1) AS g
"""
_CHALLENGES = """
INSERT INTO challenges (id, authorization_id, type, token, status, validated_at)
SELECT md5('h' || g)::uuid, md5('z' || g)::uuid, 'http-01', md5('t' || g), 'valid', now()
FROM generate_series(%(lo)s, %(hi)s - 1) AS g
"""
_CERTS = """
INSERT INTO certificates (id, serial, account_id, order_id, der, pem_chain, names, not_before,
                          not_after, fingerprint, spki_sha256)
SELECT md5('c' || g)::uuid, '1' || md5('s' || g), md5('a' || (g %% %(accounts)s))::uuid,
       md5('o' || g)::uuid, t.der, t.pem_chain, ARRAY['h' || g || '.bulk.localhost'],
       now() - interval '1 day', now() + interval '89 days' + (g %% 1440) * interval '1 minute',
       md5('f' || g), md5('k' || g)
FROM generate_series(%(lo)s, %(hi)s - 1) AS g,
     (SELECT der, pem_chain FROM certificates ORDER BY created_at LIMIT 1) AS t
"""


def bulk_load(uri: str, lo: int, hi: int) -> tuple[float, float]:
    """Load bulk certificates lo..hi-1 (orders too), CHUNK rows per transaction, then settle
    (VACUUM ANALYZE, CHECKPOINT) so the measurement does not pay for the load's I/O.
    Returns (load seconds, settle seconds)."""
    start = time.perf_counter()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(_ACCOUNTS, {"n": BULK_ACCOUNTS})
        for first in range(lo, hi, CHUNK):
            last = min(hi, first + CHUNK)
            with conn.transaction():  # orders.certificate_id is a deferred foreign key
                params = {"lo": first, "hi": last, "accounts": BULK_ACCOUNTS}
                for statement in (_ORDERS, _CERTS, _AUTHZS, _LINKS, _CHALLENGES):
                    conn.execute(statement, params)
            print(f"    loaded {last:,} / {hi:,}", flush=True)
        loaded = time.perf_counter()
        conn.execute(
            "VACUUM (ANALYZE) accounts, orders, certificates, authorizations,"
            " order_authorizations, challenges"
        )
        conn.execute("CHECKPOINT")
    return loaded - start, time.perf_counter() - loaded


def issuance(args: argparse.Namespace, server, pg, out: Path) -> dict:
    """A loadgen run in auto-accept mode (on a quiet machine if possible); its summary."""
    wait_quiet(60.0)
    options = {
        "--directory": server.directory_url,
        "--mode": "auto-accept",
        "--concurrency": args.concurrency,
        "--seconds": args.seconds,
        "--server-pid": server.pid,
        "--pg-pid": pg.pid,
        "--pg-dsn": server.database_url,
        "--json-out": out,
    }
    command = [sys.executable, str(LOADGEN)] + [str(x) for kv in options.items() for x in kv]
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=args.seconds + 240
    )
    if not out.exists():
        raise SystemExit(f"loadgen failed:\n{done.stdout}\n{done.stderr}")
    print("    " + done.stdout.strip().splitlines()[-1], flush=True)
    return json.loads(out.read_text())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="sizes 1000,20000; 3 s; 200 lookups")
    p.add_argument("--sizes", default="1000,1000000", help="bulk-loaded certificate totals")
    p.add_argument("--seconds", type=float, default=10.0, help="issuance run per size")
    p.add_argument("--concurrency", type=int, default=4, help="issuance run concurrency")
    p.add_argument("--lookups", type=int, default=2000, help="lookups per kind and size")
    p.add_argument("--revoked", type=int, default=100_000, help="revoked certificates for the CRL")
    p.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    p.add_argument("--workdir", help="use (and keep) this directory")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.seconds, args.lookups, args.revoked = "1000,20000", 3.0, 200, 10_000
    args.size_list = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not args.size_list or args.size_list[-1] > 20_000_000 or args.size_list[0] < 1:
        p.error("--sizes must be between 1 and 20,000,000")
    return args


def run(args: argparse.Namespace, workdir: Path) -> list[dict]:
    pg = start_postgres(workdir)
    rows: list[dict] = []
    try:
        ca = generate_ca(workdir / "ca")
        uri = pg.create_database("acmeeh_growth")
        config = acmeeh_config(
            port=free_port(),
            database_url=uri,
            ca=ca,
            http01_port=free_port(),
            workers=args.workers,
            worker_class="gthread",
            threads=4,
            auto_accept=True,
            pool_size=10,
        )
        config.update(probes.quiet_workers_config())
        server = start_acmeeh(workdir / "server", config)
        try:
            print("warm-up issuance (also makes the template certificate)", flush=True)
            issuance(args, server, pg, workdir / "warmup.json")
            loaded = 0
            for size in args.size_list:
                print(f"size {size:,}:", flush=True)
                load_s, settle_s = bulk_load(uri, loaded, size)
                loaded = size
                row = {
                    "certificates": size,
                    "load_s": load_s,
                    "settle_s": settle_s,
                    "issuance": issuance(args, server, pg, workdir / f"issue-{size}.json"),
                    "lookups": probes.lookups(uri, loaded, args.lookups),
                    "sizes": probes.table_sizes(uri),
                }
                row["admin"] = probes.admin_search(uri, loaded, max(20, args.lookups // 20))
                row["crl"] = probes.crl_build(
                    workdir / "server" / "acmeeh.yaml", uri, min(args.revoked, loaded)
                )
                rows.append(row)
        finally:
            server.stop()
    finally:
        pg.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keep = args.workdir is not None
    workdir = Path(args.workdir) if keep else Path(tempfile.mkdtemp(prefix="acmeeh-growth-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for name, module in (("admin search", "acmeeh.admin"), ("CRL build", "acmeeh.authority.crl")):
        if importlib.util.find_spec(module) is None:
            print(f"note: {module} does not exist: the {name} measurement is skipped")
    try:
        rows = run(args, workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(probes.tables(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
