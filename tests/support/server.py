"""Run the real ACMEEH server as a subprocess for end-to-end tests.

`start_server(workdir)` writes a YAML config (loopback only, its own fresh database, a dev CA,
challenge ports free for the client under test, dns-01 pointed at a loopback ZoneServer), starts
`python -m acmeeh -c CONFIG serve` (gunicorn) or `--dev`, and waits until the directory answers.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import psycopg
import yaml
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from .database import ROOT, fresh_database, server_url
from .dns import ZoneServer, free_port

if TYPE_CHECKING:
    from acmeeh.issuance import DevCA

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
LOG_TAIL_CHARS = 8000
_counter = itertools.count()


def worker_id() -> str:
    """pytest-xdist worker name ("gw0"...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def database_name(n: int) -> str:
    """acmeeh_e2e_{worker}_{pid}_{n}: unique even when several pytest runs share the cluster."""
    return f"acmeeh_e2e_{worker_id()}_{os.getpid()}_{n}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_stale_databases() -> list[str]:
    """Drop e2e databases left behind by test processes that no longer exist."""
    pattern = re.compile(r"^acmeeh_e2e_[A-Za-z0-9]+_(\d+)_\d+$")
    dropped = []
    with psycopg.connect(server_url(), autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'acmeeh\\_e2e\\_%'"
            )
        ]
        for name in names[:200]:  # bounded
            match = pattern.match(name)
            if match and not _pid_alive(int(match.group(1))):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
                dropped.append(name)
    return dropped


def drop_database(name: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def deep_merge(base: dict, overrides: dict) -> dict:
    """A copy of `base` with `overrides` merged in (dicts recursively, everything else replaced)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _dev_ca(directory: Path) -> DevCA:
    try:
        from acmeeh.issuance import generate_dev_ca
    except ImportError:  # running without PYTHONPATH=src and without `pip install -e .`
        sys.path.insert(0, str(ROOT / "src"))
        from acmeeh.issuance import generate_dev_ca
    return generate_dev_ca(directory)


def as_uri(conninfo: str) -> str:
    """A libpq key=value string (or URI) as a postgresql:// URI; socket dirs go in ?host=."""
    info = {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    user = quote(info.pop("user", ""), safe="")
    password = info.pop("password", None)
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = info.pop("host", "")
    port = info.pop("port", "")
    dbname = quote(info.pop("dbname", ""), safe="")
    netloc = ""
    if host and not host.startswith("/"):
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
        host = ""
    elif port:
        info["port"] = port
    if host:
        info["host"] = host
    return f"postgresql://{auth}{netloc}/{dbname}" + (f"?{urlencode(info)}" if info else "")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the server process: src/ first on PYTHONPATH, nothing else changed."""
    env = dict(os.environ)
    paths = [str(ROOT / "src")] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.update(extra or {})
    return env


@dataclass
class RunningServer:
    """A started server and everything a client test needs to reach it."""

    process: subprocess.Popen
    base_url: str
    directory_url: str
    ca_cert_path: Path  # the issuing CA (ca.certificate)
    ca_key_path: Path | None  # None when the key is in an HSM (ca.backend pkcs11)
    root_cert_path: Path  # the trust anchor a client verifies against
    http01_port: int
    tlsalpn01_port: int
    dns: ZoneServer
    config_path: Path
    config: dict
    database_url: str
    log_path: Path
    workdir: Path
    database_name: str = ""
    runtime_dir: Path | None = None
    _owns_dns: bool = field(default=False, repr=False)

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        """The end of the server's combined stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return text[-chars:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> int | None:
        """SIGTERM, wait (bounded), then SIGKILL the process group we started. Returns exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                _kill_group(self.process)
        # gunicorn workers left behind by a crashed master share our process group
        _kill_group(self.process, only_if_members=True)
        if self._owns_dns:
            self.dns.stop()
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
        if self.database_name:
            drop_database(self.database_name)
            self.database_name = ""
        return self.process.returncode


def _kill_group(process: subprocess.Popen, *, only_if_members: bool = False) -> None:
    """SIGKILL the session/process group created for `process` (start_new_session=True)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        if not only_if_members:
            process.kill()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pass


def base_config(
    *,
    port: int,
    workers: int,
    database_url: str,
    ca: DevCA,
    http01_port: int,
    tlsalpn01_port: int,
    dns_address: str,
) -> dict:
    """The default e2e configuration (keys from src/acmeeh/config/schema.yaml)."""
    return {
        "server": {
            "external_url": f"http://127.0.0.1:{port}",
            "bind": "127.0.0.1",
            "port": port,
            "workers": workers,
            "graceful_timeout": 5,
        },
        "database": {"url": database_url, "auto_setup": True, "max_connections": 5},
        "ca": ca.ca_settings(),
        "challenges": {
            "allowed_networks": ["127.0.0.0/8", "::1/128"],
            "http01": {"port": http01_port, "timeout_seconds": 5},
            "tlsalpn01": {"port": tlsalpn01_port, "timeout_seconds": 5},
            "dns01": {"resolvers": [dns_address], "timeout_seconds": 5},
        },
        # Loopback addresses are refused as ip identifiers unless a network allows them.
        "security": {"identifiers": {"allowed_suffixes": [],
                                     "allowed_networks": ["127.0.0.0/8", "::1/128"]}},
        "logging": {"level": "INFO"},
    }


def start_server(
    workdir: Path,
    *,
    overrides: dict | None = None,
    workers: int = 2,
    dev: bool = False,
    dns: ZoneServer | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
    ready_url: str | None = None,
    env: dict[str, str] | None = None,
) -> RunningServer:
    """Start ACMEEH on free loopback ports; raise RuntimeError (with the log) if it never answers.

    `env` is added to the server's environment (what ${VAR} in the configuration reads).

    It is up when `ready_url` (default: the directory at server.external_url) answers 200; pass
    gunicorn's own URL when external_url names a proxy that is not running yet.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    owns_dns = dns is None
    if dns is None:
        dns = ZoneServer().start()
    port = free_port()
    n = next(_counter)
    if n == 0:
        drop_stale_databases()
    name = database_name(n)
    database_url = as_uri(fresh_database(name))
    config = base_config(
        port=port,
        workers=workers,
        database_url=database_url,
        ca=_dev_ca(workdir / "ca"),
        http01_port=free_port(),
        tlsalpn01_port=free_port(),
        dns_address=dns.address,
    )
    config = deep_merge(config, overrides or {})
    config_path = workdir / "acmeeh.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    log_path = workdir / "server.log"
    command = [sys.executable, "-m", "acmeeh", "-c", str(config_path)]
    command += ["--dev"] if dev else ["serve"]
    # gunicorn's control socket defaults to $XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl, shared by
    # every instance of the user; give each server its own (short path: AF_UNIX limit 108 bytes).
    runtime_dir = Path(tempfile.mkdtemp(prefix="acmeeh-rt-"))
    env = child_env({"XDG_RUNTIME_DIR": str(runtime_dir), **(env or {})})
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    external = config["server"]["external_url"].rstrip("/")
    prefix = config.get("acme", {}).get("path_prefix", "/acme")
    server = RunningServer(
        process=process,
        base_url=external,
        directory_url=f"{external}{prefix}/directory",
        ca_cert_path=Path(config["ca"]["certificate"]),
        ca_key_path=Path(config["ca"]["key"]) if config["ca"].get("key") else None,
        root_cert_path=Path(config["ca"].get("chain") or config["ca"]["certificate"]),
        http01_port=config["challenges"]["http01"]["port"],
        tlsalpn01_port=config["challenges"]["tlsalpn01"]["port"],
        dns=dns,
        config_path=config_path,
        config=config,
        database_url=database_url,
        log_path=log_path,
        workdir=workdir,
        database_name=name,
        runtime_dir=runtime_dir,
        _owns_dns=owns_dns,
    )
    try:
        wait_for_directory(server, timeout, ready_url)
    except BaseException:
        server.stop()
        raise
    return server


def wait_for_directory(server: RunningServer, timeout: float, url: str | None = None) -> None:
    """Poll GET `url` (the directory) until 200; fail early if the process exits."""
    url = url or server.directory_url
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"acmeeh exited with {server.process.returncode} before answering "
                f"{url}\n--- {server.log_path} ---\n"
                f"{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}: {exc.read(500)!r}"
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise RuntimeError(
        f"{url} did not answer 200 within {timeout}s "
        f"(last: {last})\n--- {server.log_path} ---\n{server.log_tail()}"
    )
