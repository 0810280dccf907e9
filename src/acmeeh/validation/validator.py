"""The Validator: one entry point that runs a challenge and never raises for network trouble."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from acmeeh.protocol import problems
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.problems import Problem
from acmeeh.protocol.status import ChallengeType

from . import caa, dns01, http01, tlsalpn01
from .network import AddressPolicy, Transient
from .resolver import Resolver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of one validation attempt; `records` describe what was contacted (RFC 8555 §8).

    `transient`: the failure was connection refused, a timeout or a DNS server failure, which
    a later attempt may get past (RFC 8555 §8.2); a wrong answer is never transient.
    """

    ok: bool
    problem: Problem | None
    records: tuple[dict, ...]
    transient: bool = False


class Validator:
    """Runs http-01, dns-01 and tls-alpn-01 under `settings.challenges`.

    Construction raises ValueError for an unusable resolver or network entry.
    """

    def __init__(self, challenges_settings: Any) -> None:
        self.settings = challenges_settings
        self.resolver = Resolver(
            tuple(challenges_settings.dns01.resolvers),
            float(challenges_settings.dns01.timeout_seconds),
        )
        self.policy = AddressPolicy(tuple(challenges_settings.allowed_networks))

    def validate(
        self, challenge_type: str, identifier: Identifier, token: str, key_authorization: str
    ) -> ValidationResult:
        """Prove control of `identifier`; every failure is a Problem in the result."""
        records: list[dict] = []
        try:
            self._run(str(challenge_type), identifier, token, key_authorization, records)
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
        self, identifier: Identifier, issuer_domains: tuple[str, ...], *, account_uri: str,
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

    def _run(
        self,
        challenge_type: str,
        identifier: Identifier,
        token: str,
        key_authorization: str,
        records: list[dict],
    ) -> None:
        if challenge_type not in tuple(str(t) for t in self.settings.enabled):
            raise problems.malformed(f"challenge type {challenge_type!r} is not enabled")
        if identifier.type not in ("dns", "ip"):
            raise problems.malformed(f"cannot validate identifier type {identifier.type!r}")
        # RFC 8555 §7.1.3: wildcard authorizations are proven with dns-01 only.
        if identifier.wildcard and challenge_type != ChallengeType.DNS_01:
            raise problems.malformed(f"{challenge_type} cannot validate a wildcard identifier")
        s = self.settings
        if challenge_type == ChallengeType.HTTP_01:
            http01.validate(
                identifier,
                token,
                key_authorization,
                resolver=self.resolver,
                policy=self.policy,
                settings=s.http01,
                records=records,
            )
        elif challenge_type == ChallengeType.DNS_01:
            dns01.validate(
                identifier,
                token,
                key_authorization,
                resolver=self.resolver,
                settings=s.dns01,
                records=records,
            )
        elif challenge_type == ChallengeType.TLS_ALPN_01:
            tlsalpn01.validate(
                identifier,
                token,
                key_authorization,
                resolver=self.resolver,
                policy=self.policy,
                settings=s.tlsalpn01,
                records=records,
            )
        else:
            raise problems.malformed(f"unknown challenge type {challenge_type!r}")
