"""Audit log rotation with logrotate, on a real gunicorn (2 workers): the file is renamed as
logrotate does by default (rename, then create); every worker goes on in a new file at the same
path, without a signal and after the SIGHUP of a `postrotate` reload alike, and no record is lost
or written twice."""
from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import requests
from opstools import json_lines, wait_until
from support.acme_client import AcmeClient, expect
from support.server import RunningServer

ACCOUNTS_PER_ROUND = 4  # on new connections: both workers write


def create_accounts(server: RunningServer, count: int) -> set[str]:
    """`count` new accounts; their URLs (what the audit records name)."""
    urls = set()
    for _ in range(count):
        session = requests.Session()
        session.headers["Connection"] = "close"
        client = AcmeClient(server.directory_url, session=session)
        urls.add(expect(client.new_account(), 201).headers["Location"])
    return urls


def created(path: Path) -> list[str]:
    """The account ids of the account.created records in one audit file."""
    return [r.get("account_id") or "" for r in json_lines(path)
            if r.get("event") == "account.created"]


def test_audit_file_follows_logrotate(start_acme_server: Callable[..., RunningServer],
                                      tmp_path: Path) -> None:
    audit = tmp_path / "audit.log"
    server = start_acme_server({"logging": {"audit": {"enabled": True, "file": str(audit)}}})
    rounds = [create_accounts(server, ACCOUNTS_PER_ROUND)]

    audit.rename(tmp_path / "audit.log.1")  # logrotate: rename; no signal at all
    rounds.append(create_accounts(server, ACCOUNTS_PER_ROUND))

    audit.rename(tmp_path / "audit.log.2")  # logrotate with `postrotate systemctl reload`
    audit.touch(mode=0o640)  # its `create` directive
    pid = server.process.pid
    server.process.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: configuration reloaded" in server.log_tail(100_000), timeout=15)
    rounds.append(create_accounts(server, ACCOUNTS_PER_ROUND))
    assert server.alive() and server.process.pid == pid

    files = [tmp_path / "audit.log.1", tmp_path / "audit.log.2", audit]
    for path, urls in zip(files, rounds, strict=True):
        ids = created(path)
        assert len(ids) == ACCOUNTS_PER_ROUND, (path, ids)
        assert {i for i in ids if i} and all(any(i in url for url in urls) for i in ids), (
            path, ids, urls)
