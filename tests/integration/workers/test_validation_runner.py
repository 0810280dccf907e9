"""The validation runner on real threads: the queue bound, one queue entry per challenge,
delayed retries, the heartbeat over everything it holds, and a validation that met an
unavailable database run again while the runner keeps holding its challenge."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from acmeeh.authority.env import ValidationQueueFull
from acmeeh.workers.validation import ValidationRunner

WAIT = 5.0  # every wait below is bounded by this
ENV = object()  # the runner hands its env to validate and keep_alive; these ignore it


def until(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a validation thread blocked


def make_runner(validate: Callable[[uuid.UUID], None], *, capacity: int = 2,
                heartbeat: float = 0.1) -> tuple[ValidationRunner, list[list[uuid.UUID]]]:
    beats: list[list[uuid.UUID]] = []
    runner = ValidationRunner(1, capacity=capacity, heartbeat_seconds=heartbeat,
                              validate=lambda env, cid: validate(cid),
                              keep_alive=lambda env, ids: beats.append(sorted(ids)))
    runner.start(ENV)
    return runner, beats


def test_bound_and_one_entry_per_challenge(gate: threading.Event) -> None:
    ran: list[uuid.UUID] = []
    runner, _ = make_runner(lambda cid: (gate.wait(WAIT), ran.append(cid)))
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        runner.submit(a)
        runner.submit(b)
        runner.submit(a)  # held already: not queued twice, not counted twice
        with pytest.raises(ValidationQueueFull):
            runner.submit(c)
        assert runner.in_flight == {a, b} and runner.busy == {a, b}
        gate.set()
        until(lambda: not runner.in_flight)
        assert sorted(ran) == sorted([a, b])
        runner.submit(c)  # room again
        until(lambda: c in ran)
    finally:
        runner.shutdown()


def test_retry_after_a_delay_is_held_and_kept_alive() -> None:
    ran: list[tuple[uuid.UUID, float]] = []
    runner, beats = make_runner(lambda cid: ran.append((cid, time.monotonic())), heartbeat=0.05)
    cid = uuid.uuid4()
    try:
        started = time.monotonic()
        runner.submit(cid, 0.4)
        assert runner.in_flight == {cid} and runner.busy == set()  # waiting, not queued
        until(lambda: [cid] in beats)  # renewed while it waits
        until(lambda: bool(ran))
        assert ran[0][1] - started >= 0.4
        until(lambda: not runner.in_flight)
    finally:
        runner.shutdown()


def test_unavailable_database_runs_again_and_keeps_the_challenge() -> None:
    calls: list[float] = []

    def validate(cid: uuid.UUID) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise psycopg.OperationalError("the database is restarting")

    runner, beats = make_runner(validate, heartbeat=0.05)
    cid = uuid.uuid4()
    try:
        runner.submit(cid)
        until(lambda: len(calls) == 1)
        until(lambda: [cid] in beats)  # still held between the two runs
        assert runner.in_flight == {cid}
        until(lambda: len(calls) == 2)
        assert calls[1] - calls[0] >= 0.9  # the first wait is a second
        until(lambda: not runner.in_flight)
    finally:
        runner.shutdown()


def test_other_errors_let_go() -> None:
    def validate(cid: uuid.UUID) -> None:
        raise RuntimeError("a bug")

    runner, _ = make_runner(validate)
    try:
        runner.submit(uuid.uuid4())
        until(lambda: not runner.in_flight)  # the challenge worker recovers it once stale
    finally:
        runner.shutdown()


def test_shutdown_keeps_what_it_still_held(gate: threading.Event) -> None:
    runner, _ = make_runner(lambda cid: gate.wait(WAIT), capacity=3)
    running, queued, waiting = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    runner.submit(running)
    until(lambda: runner.busy == {running})
    runner.submit(queued)
    runner.submit(waiting, 60)
    runner.shutdown(wait=False)
    assert runner.in_flight == {running, queued, waiting}  # the caller puts them back in line
    gate.set()
    until(lambda: runner.in_flight == {queued, waiting})  # the queued one was cancelled
    runner.submit(uuid.uuid4())  # refused quietly once shut down
    assert len(runner.in_flight) == 2
