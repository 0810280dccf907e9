"""The Validator seam and its implementation: one entry point that runs a challenge and never
raises for network trouble, one that checks CAA, one that says whether the resolvers answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from acmeeh.config.settings import ChallengesSettings
from acmeeh.protocol import problems
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import ChallengeType

from . import caa, dns01, http01, tlsalpn01
from .attempt import ValidationAttempt
from .network import AddressPolicy, Transient
from .resolver import Resolver

log = logging.getLogger(__name__)
# RFC 6761 §6.4: ".invalid" is answered NXDOMAIN and is never a real name.
DNS_PROBE_NAME = "acmeeh-health-check.invalid"


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of one validation attempt; `records` describe what was contacted (RFC 8555 §8).

    `transient`: the failure was connection refused, a timeout or a DNS server failure, which
    a later attempt may get past (RFC 8555 §8.2); a wrong answer is never transient.
    """

    ok: bool
    problem: Problem | None
    records: tuple[dict[str, Any], ...]
    transient: bool = False


class Validator(Protocol):
    """What the authority needs to prove control of an identifier (authority.env.Env.validator).

    An implementation touches no database and never raises for the network: every failure is
    a Problem in the result (or the returned Problem).
    """

    def validate(
        self, challenge_type: ChallengeType, identifier: Identifier, token: str,
        key_authorization: str,
    ) -> ValidationResult:
        """Run one attempt of `challenge_type` for `identifier`."""
        ...

    def check_caa(
        self, identifier: Identifier, issuer_domains: Sequence[str], *, account_uri: str,
        method: str,
    ) -> Problem | None:
        """RFC 8659 / RFC 8657: None when the CAA records let this CA issue."""
        ...

    def resolvers_answer(self, timeout: float) -> bool:
        """Whether the configured DNS resolvers answer within `timeout` seconds (health)."""
        ...


class NetworkValidator:
    """The Validator: http-01, dns-01 and tls-alpn-01 over the network, under
    `settings.challenges`.

    Construction raises ValueError for an unusable resolver or network entry.
    """

    def __init__(self, challenges_settings: ChallengesSettings) -> None:
        self.settings = challenges_settings
        self.resolver = Resolver(
            tuple(challenges_settings.dns01.resolvers),
            float(challenges_settings.dns01.timeout_seconds),
        )
        self.policy = AddressPolicy(tuple(challenges_settings.allowed_networks))

    def validate(
        self, challenge_type: ChallengeType, identifier: Identifier, token: str,
        key_authorization: str,
    ) -> ValidationResult:
        """Prove control of `identifier`; every failure is a Problem in the result."""
        records: list[dict[str, Any]] = []
        attempt = ValidationAttempt(identifier, token, key_authorization, self.resolver,
                                    self.policy, records)
        try:
            self._run(str(challenge_type), attempt)
        except Transient as failure:
            return ValidationResult(False, failure.problem, tuple(records), transient=True)
        except Problem as problem:
            return ValidationResult(False, problem, tuple(records))
        except Exception:  # a bug, not the client's fault: log it, say nothing specific
            log.exception("%s validation of %s crashed", challenge_type, identifier.value)
            return ValidationResult(
                False, problems.server_internal("validation failed unexpectedly"), tuple(records)
            )
        return ValidationResult(True, None, tuple(records))

    def check_caa(
        self, identifier: Identifier, issuer_domains: Sequence[str], *, account_uri: str,
        method: str,
    ) -> Problem | None:
        """RFC 8659 / RFC 8657 check for the account at `account_uri` whose authorization was
        validated by `method`; None means issuance may go ahead. Never raises: a crash is a
        serverInternal problem, so it fails closed."""
        try:
            return caa.check(
                identifier,
                tuple(issuer_domains),
                account_uri=account_uri,
                method=method,
                resolver=self.resolver,
                timeout=float(self.settings.dns01.timeout_seconds),
            )
        except Exception:
            log.exception("CAA check of %s crashed", identifier.value)
            return problems.server_internal("CAA check failed unexpectedly")

    def resolvers_answer(self, timeout: float) -> bool:
        """An answer of any kind (NXDOMAIN included) for a name that never exists shows the
        resolvers respond; a timeout or server failure shows they do not."""
        try:
            self.resolver.txt(DNS_PROBE_NAME, deadline=time.monotonic() + timeout)
        except Exception:  # noqa: BLE001 - LookupFailed or worse: the resolvers do not answer
            return False
        return True

    def _run(self, challenge_type: str, attempt: ValidationAttempt) -> None:
        if challenge_type not in tuple(str(t) for t in self.settings.enabled):
            raise problems.malformed(f"challenge type {challenge_type!r} is not enabled")
        identifier = attempt.identifier
        if identifier.type not in ("dns", "ip"):
            raise problems.malformed(f"cannot validate identifier type {identifier.type!r}")
        # RFC 8555 §7.1.3: wildcard authorizations are proven with dns-01 only.
        if identifier.wildcard and challenge_type != ChallengeType.DNS_01:
            raise problems.malformed(f"{challenge_type} cannot validate a wildcard identifier")
        s = self.settings
        if challenge_type == ChallengeType.HTTP_01:
            http01.validate(attempt, s.http01)
        elif challenge_type == ChallengeType.DNS_01:
            dns01.validate(attempt, s.dns01)
        elif challenge_type == ChallengeType.TLS_ALPN_01:
            tlsalpn01.validate(attempt, s.tlsalpn01)
        else:
            raise problems.malformed(f"unknown challenge type {challenge_type!r}")
