"""The database stops and starts again under a running ACMEEH (its own PostgreSQL, so the shared
test server never goes down): probes turn 503, ACME requests get 503 problem documents with
Retry-After within database.acquire_timeout_seconds instead of hanging, never a 500, and
everything comes back within 2 s of the database accepting connections, without restarting
ACMEEH. Prints how many requests failed and how long recovery took."""
from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Self

import pytest
import requests
from opstools import get, get_json, samples, total, wait_until
from ownpg import OwnPostgres
from support.acme_client import AcmeClient, Http01Responder, expect, problem_type
from support.server import RunningServer

ACQUIRE_TIMEOUT = 1  # database.acquire_timeout_seconds: bounds every wait for a connection
OUTAGE_SECONDS = 3.0
# A request during the outage answers within this: its first database round trip waits at most
# acquire_timeout for a connection, then fails.
ANSWER_BOUND_SECONDS = ACQUIRE_TIMEOUT + 2.0
RECOVERY_BOUND_SECONDS = 2.0  # after the database accepts connections again
WAIT_BOUND_SECONDS = 30.0
PROBE_INTERVAL = 0.1
PROBERS = 4  # clients probing at once
ACME = "urn:ietf:params:acme:error:"


@dataclass
class Sample:
    at: float  # time.monotonic() when sent
    took: float
    status: int | None  # None: no HTTP answer (connection error or client timeout)
    problem: str | None
    retry_after: str | None = None
    error: str | None = None
    made_up_nonce: bool = False  # newNonce answered without one during the outage


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    pg = OwnPostgres()
    try:
        yield pg
    finally:
        pg.cleanup()


class Prober:
    """An account's POST-as-GET of itself every PROBE_INTERVAL on a thread (nonce redemption and
    account lookup both need the database), each answer recorded. Its nonce comes from GET
    newNonce just before; when that answer carries none, a made-up one is sent."""

    def __init__(self, server: RunningServer) -> None:
        self.client = AcmeClient(server.directory_url, timeout=ANSWER_BOUND_SECONDS + 5)
        expect(self.client.new_account(), 201)
        self.samples: list[Sample] = []
        self.nonceless = 0  # newNonce answers without a Replay-Nonce
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _once(self) -> Sample:
        started = time.monotonic()
        try:
            fresh = self.client.request("GET", self.client.url("newNonce"))
            nonce = fresh.headers.get("Replay-Nonce")
            if nonce is None:
                self.nonceless += 1
            started = time.monotonic()
            resp = self.client.post(self.client.kid, nonce=nonce or uuid.uuid4().hex)
        except requests.RequestException as exc:
            return Sample(started, time.monotonic() - started, None, None, type(exc).__name__)
        return Sample(started, time.monotonic() - started, resp.status_code, problem_type(resp),
                      resp.headers.get("Retry-After"), made_up_nonce=nonce is None)

    def _run(self) -> None:
        for _ in range(2000):  # bounded: 2000 × ≥0.1 s
            if self._stop.is_set():
                return
            self.samples.append(self._once())
            self._stop.wait(PROBE_INTERVAL)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(ANSWER_BOUND_SECONDS + 10)


def issue(server: RunningServer) -> None:
    client = AcmeClient(server.directory_url)
    expect(client.new_account(), 201)
    with Http01Responder(server.http01_port) as http01:
        client.obtain_certificate([f"outage-{uuid.uuid4().hex[:8]}.localhost"], http01=http01)


def test_database_stopped_and_restarted(start_acme_server: Callable[..., RunningServer],
                                        own_postgres: OwnPostgres) -> None:
    url = own_postgres.database("acmeeh")
    server = start_acme_server({"database": {"url": url, "acquire_timeout_seconds": ACQUIRE_TIMEOUT,
                                             "connect_timeout": 1, "max_connections": 4}},
                               workers=2)
    try:
        assert get_json(f"{server.base_url}/readyz") == (200, {"ready": True})
        issue(server)
        probers = [Prober(server) for _ in range(PROBERS)]
        with contextlib.ExitStack() as stack:
            for prober in probers:
                stack.enter_context(prober)
            time.sleep(0.5)
            own_postgres.stop()
            stopped = time.monotonic()
            wait_until(lambda: get_json(f"{server.base_url}/readyz")
                       == (503, {"ready": False, "reason": "database unavailable"}), timeout=10)
            status, health = get_json(f"{server.base_url}/healthz")
            assert status == 503 and health["status"] == "error", health
            assert health["checks"]["database"]["status"] == "error"
            assert get_json(f"{server.base_url}/livez")[0] == 200  # alive all along
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
            own_postgres.start()  # returns once the server accepts connections
            restarted = time.monotonic()
            wait_until(lambda: get_json(f"{server.base_url}/readyz")[0] == 200,
                       timeout=WAIT_BOUND_SECONDS)
            wait_until(lambda: all(p.samples and p.samples[-1].status == 200
                                   and p.samples[-1].at > restarted for p in probers),
                       timeout=WAIT_BOUND_SECONDS)
            recovered = time.monotonic()
            time.sleep(0.3)
        status, health = get_json(f"{server.base_url}/healthz")
        assert status == 200, health
        issue(server)  # the same processes issue again: nothing was restarted
        assert server.alive()
        counted = total(samples(get(f"{server.base_url}/metrics")[2].decode()),
                        "acmeeh_database_unavailable_total")
    finally:
        server.stop()  # before the database goes away for good

    answers = [s for p in probers for s in p.samples]
    during = [s for s in answers if stopped <= s.at < recovered]
    failed = [s for s in during if s.status != 200]
    assert failed, "no request fell into the outage"
    assert not [s for s in answers if s.status is None or s.status >= 500 and s.status != 503]
    # Every failure is an answer, not a hang or a dropped connection: 503 serverInternal with
    # Retry-After (or badNonce, once the database is back, for a nonce made up while it was away).
    unavailable = [s for s in failed if s.status == 503 and s.problem == f"{ACME}serverInternal"
                   and s.retry_after and int(s.retry_after) >= 1]
    stale = [s for s in failed if s.made_up_nonce and s.problem == f"{ACME}badNonce"]
    assert len(unavailable) + len(stale) == len(failed), \
        [s for s in failed if s not in unavailable and s not in stale][:5]
    assert unavailable
    # acmeeh_database_unavailable_total, every process summed: one per 503 a prober received
    assert counted == len([s for s in answers if s.status == 503])
    assert max(s.took for s in during) <= ANSWER_BOUND_SECONDS
    # Recovery: every prober's first request sent after the restart that could succeed did.
    first_ok = max(min(s.at + s.took for s in p.samples if s.status == 200 and s.at > restarted)
                   for p in probers)
    after = [s for s in failed if s.at >= restarted]
    print(f"\ndatabase down {restarted - stopped:.1f}s: {len(failed)} of {len(during)} requests "
          f"failed ({len(unavailable)} 503 with Retry-After, {len(stale)} badNonce for a nonce made"
          f" up during the outage, 0 other; {len(after)} sent after the restart; slowest answer "
          f"{max(s.took for s in during):.2f}s, acquire_timeout {ACQUIRE_TIMEOUT}s); every prober "
          f"succeeded {first_ok - restarted:.2f}s and /readyz 200 {recovered - restarted:.2f}s "
          f"after the database accepted connections; newNonce answered without a nonce "
          f"{sum(p.nonceless for p in probers)} times")
    assert first_ok - restarted <= RECOVERY_BOUND_SECONDS
