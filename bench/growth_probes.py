"""What growth.py measures at each size, besides issuance: lookups through the store's own
queries (with their plans), table sizes, admin searches and the CRL build; and its tables."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import random
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import paths  # noqa: F401  (first: src/ and tests/ on sys.path)
import psycopg
from pgstat import split_scans
from report import percentile

from acmeeh.config.load import load_schema, load_settings
from acmeeh.store import certs as cert_store

PROBE_SECONDS = 10.0  # time bound per kind of query


def bulk_id(i: int) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(f"c{i}".encode()).hexdigest())


def bulk_serial(i: int) -> str:
    return "1" + hashlib.md5(f"s{i}".encode()).hexdigest()


def quiet_workers_config() -> dict:
    """Keep the CRL worker from rebuilding during measurements (only if the section exists)."""
    if "crl" in load_schema().get("properties", {}):
        return {"crl": {"rebuild_interval_seconds": 86400, "poll_seconds": 3600}}
    return {}


def _timed(calls: list[Callable[[], Any]]) -> dict[str, float]:
    """Run the calls (bounded by PROBE_SECONDS); p50/p99 in milliseconds and misses."""
    times, misses, stop = [], 0, time.perf_counter() + PROBE_SECONDS
    for call in calls:
        start = time.perf_counter()
        found = call()
        times.append((time.perf_counter() - start) * 1000.0)
        misses += not found
        if time.perf_counter() > stop:
            break
    return {
        "n": len(times),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "misses": misses,
    }


def _plan(conn: psycopg.Connection, query: str, params: tuple) -> str:
    """The scan lines of the plan (index or sequential scan is what growth depends on)."""
    lines = [
        r[0].strip().removeprefix("->  ")
        for r in conn.execute("EXPLAIN (COSTS OFF) " + query, params).fetchall()
    ]
    scans = [line for line in lines if "Scan" in line]
    return " / ".join((scans or lines)[:3])


def lookups(uri: str, loaded: int, n: int) -> dict[str, Any]:
    """Certificate by id (download) and by serial (revocation, OCSP, ARI), random bulk rows."""
    rng = random.Random(loaded)
    keys = [rng.randrange(loaded) for _ in range(n)]
    with psycopg.connect(uri, autocommit=True, prepare_threshold=2) as conn:
        result: dict[str, Any] = {
            "by_id": _timed([partial(cert_store.get_certificate, conn, bulk_id(i)) for i in keys]),
            "by_serial": _timed(
                [partial(cert_store.find_certificate_by_serial, conn, bulk_serial(i)) for i in keys]
            ),
        }
        result["plan_serial"] = _plan(
            conn, "SELECT id FROM certificates WHERE serial = %s", (bulk_serial(keys[0]),)
        )
    return result


def table_sizes(uri: str) -> dict[str, float]:
    """Total size (heap + TOAST + indexes) in MB of the tables that grow."""
    with psycopg.connect(uri, autocommit=True) as conn:
        sizes = {}
        for table in ("certificates", "orders"):
            row = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
            sizes[table] = (row[0] if row else 0) / 2**20
        return sizes


def admin_search(uri: str, loaded: int, n: int) -> dict[str, Any]:
    """The certificate searches of the admin API, through its store queries."""
    if importlib.util.find_spec("acmeeh.admin") is None:
        return {"skipped": "acmeeh.admin does not exist"}
    try:
        search = importlib.import_module("acmeeh.store.search")
        page = importlib.import_module("acmeeh.store.paging").Page(limit=50)
        flt = search.CertificateFilter
        rng = random.Random(loaded + 1)
        keys = [rng.randrange(loaded) for _ in range(n)]
        account = uuid.UUID(hashlib.md5(b"a7").hexdigest())
        with psycopg.connect(uri, autocommit=True, prepare_threshold=2) as conn:

            def run(make: Callable[[int], Any]) -> dict[str, float]:
                return _timed(
                    [partial(search.list_certificates, conn, page, make(i)) for i in keys]
                )

            return {
                "by_serial": run(lambda i: flt(serial=bulk_serial(i))),
                "by_name": run(lambda i: flt(name=f"h{i}.bulk.localhost")),
                "by_account": run(lambda i: flt(account_id=account)),
                "first_page": run(lambda i: flt()),
                "plan_name": _plan(
                    conn,
                    "SELECT id FROM certificates WHERE %s = ANY(names)"
                    " ORDER BY created_at DESC, id DESC LIMIT 51",
                    ("h1.bulk.localhost",),
                ),
            }
    except Exception as exc:  # noqa: BLE001 - the admin room is still moving: report, go on
        return {"skipped": f"admin search failed: {exc!r}"}


def crl_build(config_path: Path, uri: str, revoked: int) -> dict[str, Any]:
    """Revoke `revoked` bulk certificates, then time CRL rebuilds as `acmeeh crl rebuild` does."""
    if importlib.util.find_spec("acmeeh.authority.crl") is None:
        return {"skipped": "acmeeh.authority.crl does not exist"}
    try:
        crl = importlib.import_module("acmeeh.authority.crl")
        env_mod = importlib.import_module("acmeeh.authority.env")
        db = importlib.import_module("acmeeh.store.db")
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(
                "UPDATE certificates SET revoked_at = now(), revocation_reason = 1"
                " WHERE revoked_at IS NULL AND id IN"
                " (SELECT md5('c' || g)::uuid FROM generate_series(0, %s - 1) AS g)",
                (revoked,),
            )
        settings = load_settings(config_path)
        pool = db.open_pool(settings.database, name="bench-growth", wait=True)
        try:
            env = env_mod.Env(
                settings=settings, pool=pool, ca=None, validator=None, dispatch=lambda _id: None
            )
            signer = crl.load_signer(env)
            times, row = [], None
            for _ in range(2):  # cold, then warm
                start = time.perf_counter()
                row = crl.rebuild(env, signer, force=True)
                times.append(time.perf_counter() - start)
        finally:
            pool.close()
        assert row is not None
        return {
            "revoked": revoked,
            "build_s": times,
            "entries": row.entries,
            "der_bytes": len(getattr(row, "der", b"")),
        }
    except Exception as exc:  # noqa: BLE001 - report and go on with the other measurements
        return {"skipped": f"CRL build failed: {exc!r}"}


def _ms(d: dict[str, float]) -> str:
    return f"{d['p50_ms']:.2f} / {d['p99_ms']:.2f}" + (
        f" ({d['misses']} misses)" if d.get("misses") else ""
    )


def tables(rows: list[dict]) -> str:
    """Markdown tables: issuance and lookups; admin searches; CRL builds."""
    head = (
        "| certificates | bulk load s (+ vacuum) | issuances/s | flow p50 / p99 ms"
        " | newOrder p99 ms | finalize p50 / p99 ms | download p99 ms | by id p50 / p99 ms"
        " | by serial p50 / p99 ms | certificates+orders MB | other load (cores) |"
    )
    out = [head, "|---" * 11 + "|"]
    for r in rows:
        iss, req = r["issuance"], r["issuance"]["requests"]
        fin = req.get("finalize", {"p50": float("nan"), "p99": float("nan")})
        out.append(
            f"| {r['certificates']:,} | {r['load_s']:.1f} (+{r.get('settle_s', 0):.1f})"
            f" | {iss['issuances_per_sec']:.1f}"
            f" | {iss['flow_ms']['p50']:.1f} / {iss['flow_ms']['p99']:.1f}"
            f" | {req.get('newOrder', {}).get('p99', float('nan')):.1f}"
            f" | {fin['p50']:.1f} / {fin['p99']:.1f}"
            f" | {req.get('certificate', {}).get('p99', float('nan')):.1f}"
            f" | {_ms(r['lookups']['by_id'])} | {_ms(r['lookups']['by_serial'])}"
            f" | {sum(r['sizes'].values()):.0f} | {iss.get('other_cores') or 0:.2f} |"
        )
    out.append("")
    for r in rows:
        scans = split_scans(r["issuance"].get("postgres_per_issuance", {}))[1]
        text = ", ".join(f"{t} {n:.1f} ({rd:,.0f} rows)" for t, (n, rd) in list(scans.items())[:5])
        out.append(f"sequential scans per issuance at {r['certificates']:,}: {text or 'none'}")
    out += [f"plan by serial at {r['certificates']:,}: {r['lookups']['plan_serial']}" for r in rows]
    out.append("")
    admin = [r for r in rows if "skipped" not in r["admin"]]
    if admin:
        out += [
            "| certificates | admin: by serial p50 / p99 ms | by name | by account | first page |",
            "|---" * 5 + "|",
        ]
        for r in admin:
            a = r["admin"]
            out.append(
                f"| {r['certificates']:,} | {_ms(a['by_serial'])} | {_ms(a['by_name'])}"
                f" | {_ms(a['by_account'])} | {_ms(a['first_page'])} |"
            )
        out += [f"plan by name at {r['certificates']:,}: {r['admin']['plan_name']}" for r in admin]
    out += [
        f"admin search at {r['certificates']:,}: {r['admin']['skipped']}"
        for r in rows
        if "skipped" in r["admin"]
    ]
    out.append("")
    crl = [r for r in rows if "skipped" not in r["crl"]]
    if crl:
        out += [
            "| certificates | revoked | CRL build s (cold, warm) | CRL bytes |",
            "|---" * 4 + "|",
        ]
        for r in crl:
            c = r["crl"]
            out.append(
                f"| {r['certificates']:,} | {c['entries']:,} | "
                f"{', '.join(f'{t:.2f}' for t in c['build_s'])} | {c['der_bytes']:,} |"
            )
    out += [
        f"CRL at {r['certificates']:,}: {r['crl']['skipped']}"
        for r in rows
        if "skipped" in r["crl"]
    ]
    return "\n".join(out)
