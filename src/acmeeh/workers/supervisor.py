"""Supervisor: builds, starts and stops every background loop of this process.

LOOPS is the one list of background loops. Each entry names its advisory lock, how often it
runs, how to build its tick from the env, and whether the settings enable it. Every process
runs every enabled loop; the advisory lock makes one instance the leader per loop, elected
every workers.election_seconds whatever the loop's interval. The lock ids are
store.locks.LockId.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..authority.env import Env
from ..store.locks import Leadership, LockId, LockSession
from . import challenge, crl, delivery, expiration, webhooks
from .cleanup import CleanupWorker
from .loop import LeaderLoop

log = logging.getLogger("acmeeh.workers")


@dataclass(frozen=True)
class Tick:
    """What a loop runs and how often (the interval may depend on the tick, as cleanup's does)."""

    run: Callable[[], object]
    interval: float


@dataclass(frozen=True)
class LoopSpec:
    name: str
    lock_id: LockId
    build: Callable[[Env], Tick]
    enabled: Callable[[Any], bool]


def _challenge(env: Env) -> Tick:
    return Tick(challenge.make_tick(env), env.settings.challenges.background_worker.poll_seconds)


def _cleanup(env: Env) -> Tick:
    worker = CleanupWorker(env)
    return Tick(worker.tick, worker.interval)


def _expiration(env: Env) -> Tick:
    return Tick(expiration.make_tick(env), env.settings.notifications.expiration_check_interval_seconds)


def _delivery(env: Env) -> Tick:
    return Tick(delivery.make_tick(env), env.settings.notifications.delivery_interval_seconds)


def _webhooks(env: Env) -> Tick:
    return Tick(webhooks.make_tick(env), env.settings.webhooks.delivery_interval_seconds)


def _crl(env: Env) -> Tick:
    return Tick(crl.make_tick(env), env.settings.crl.poll_seconds)


LOOPS: tuple[LoopSpec, ...] = (
    LoopSpec("challenge", LockId.CHALLENGE, _challenge,
             lambda s: s.challenges.background_worker.enabled),
    LoopSpec("cleanup", LockId.CLEANUP, _cleanup, lambda s: True),
    LoopSpec("expiration", LockId.EXPIRATION, _expiration,
             lambda s: s.notifications.enabled or s.webhooks.enabled),
    LoopSpec("notifications", LockId.NOTIFICATIONS, _delivery,
             lambda s: s.notifications.enabled and s.smtp.enabled),
    LoopSpec("crl", LockId.CRL, _crl, lambda s: s.crl.enabled),
    LoopSpec("webhooks", LockId.WEBHOOKS, _webhooks, lambda s: s.webhooks.enabled),
)


class Supervisor:
    """Owns one LeaderLoop per enabled entry of LOOPS (`loops` replaces the list in tests).

    All loops of the process hold their locks on one shared lock session (one connection).
    """

    def __init__(self, env: Env, *, conninfo: str, loops: tuple[LoopSpec, ...] = LOOPS) -> None:
        self.env = env
        self.specs = loops
        self.loops: dict[str, LeaderLoop] = {}
        self.session = LockSession(conninfo, name="workers")
        for spec in loops:
            if not spec.enabled(env.settings):
                log.info("worker %s disabled by configuration", spec.name)
                continue
            tick = spec.build(env)
            self.loops[spec.name] = LeaderLoop(
                spec.name, spec.lock_id, tick.interval, tick.run, conninfo=conninfo,
                leadership=Leadership(name=spec.name, session=self.session),
                election_seconds=env.settings.workers.election_seconds)

    def start(self) -> Supervisor:
        for loop in self.loops.values():
            loop.start()
        if self.loops:
            log.info("background workers started: %s", ", ".join(self.loops))
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask every loop to stop, then wait for all of them within `timeout` seconds in total.

        Each loop finishes its current cycle and releases its lock. True when all ended.
        """
        for loop in self.loops.values():
            loop.request_stop()
        deadline = time.monotonic() + timeout
        for loop in self.loops.values():
            loop.join(max(0.0, deadline - time.monotonic()))
        stuck = [name for name, loop in self.loops.items() if loop.alive]
        if stuck:
            log.warning("background workers still running after %.1fs: %s", timeout, ", ".join(stuck))
        # Closing the session releases every lock, even those of a loop stuck in a tick.
        self.session.close()
        return not stuck

    def status(self) -> dict[str, bool]:
        """Per declared loop: True when its thread runs here. A loop disabled by configuration
        reports False (see `details` to tell disabled from dead)."""
        return {spec.name: spec.name in self.loops and self.loops[spec.name].alive
                for spec in self.specs}

    def leaders(self) -> dict[str, bool]:
        """Per running loop: does this process hold its lock."""
        return {name: loop.is_leader for name, loop in self.loops.items()}

    def details(self) -> dict[str, dict[str, Any]]:
        """Per declared loop: enabled, alive, leader, ticks, errors (for health and the admin API)."""
        out: dict[str, dict[str, Any]] = {}
        for spec in self.specs:
            loop = self.loops.get(spec.name)
            out[spec.name] = {
                "enabled": loop is not None,
                "alive": bool(loop and loop.alive),
                "leader": bool(loop and loop.is_leader),
                "ticks": loop.ticks if loop else 0,
                "errors": loop.errors if loop else 0,
            }
        return out
