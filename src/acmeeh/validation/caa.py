"""CAA (RFC 8659): may this CA issue for a DNS identifier? Climb the tree, read issue/issuewild."""

from __future__ import annotations

import time

from acmeeh.protocol import problems
from acmeeh.protocol.identifiers import Identifier
from acmeeh.protocol.problems import Problem

from .resolver import CAARecord, LookupFailed, Resolver

# Property tags whose meaning we know (RFC 8659 §4.2-4.4, RFC 9495, CA/B BR contact tags).
# A critical property with any other tag forbids issuance (RFC 8659 §4.1).
KNOWN_TAGS = frozenset(
    {"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuemail", "issuevmc"}
)
MAX_LABELS = 127  # RFC 1035 §3.1: 255 octets bound the number of labels


def relevant_records(name: str, resolver: Resolver, deadline: float) -> tuple[str, list[CAARecord]]:
    """RFC 8659 §3 RelevantCAASet: the first non-empty CAA set from `name` up to the TLD.

    Returns (owner name, records); ("", []) when no level has CAA. Raises LookupFailed.
    """
    labels = name.rstrip(".").split(".")
    for start in range(min(len(labels), MAX_LABELS)):
        owner = ".".join(labels[start:])
        found = resolver.caa(owner, deadline)
        if found:
            return owner, found
    return "", []


def issuer_domain(value: str) -> str:
    """RFC 8659 §4.2: issuer-domain-name before the first ";"; "" means nobody."""
    return value.split(";", 1)[0].strip().rstrip(".").lower()


def check(
    identifier: Identifier,
    issuer_domains: tuple[str, ...],
    *,
    resolver: Resolver,
    timeout: float,
) -> Problem | None:
    """None when issuance is allowed, else a `caa` (refused) or `dns` (lookup failed) problem.

    Empty `issuer_domains` skips the check; IP identifiers have no CAA (RFC 8738 §7 leaves
    it undefined), so they pass.
    """
    if not issuer_domains or identifier.type == "ip":
        return None
    ours = {d.strip().rstrip(".").lower() for d in issuer_domains}
    try:
        owner, found = relevant_records(identifier.base, resolver, time.monotonic() + timeout)
    except LookupFailed as exc:
        # RFC 8659 §3: a failed lookup is no permission to issue.
        return problems.dns(f"CAA lookup for {identifier.value} failed: {exc}")
    if not found:
        return None
    for record in found:
        if record.critical and record.tag.lower() not in KNOWN_TAGS:
            return problems.caa(
                f"CAA record at {owner} has the critical property {record.tag[:40]!r} "
                "that this CA does not understand"
            )
    issue = [r for r in found if r.tag.lower() == "issue"]
    wild = [r for r in found if r.tag.lower() == "issuewild"]
    # RFC 8659 §4.3: issuewild, when present, replaces issue for wildcard names and is
    # ignored for all others.
    relevant = wild if identifier.wildcard and wild else issue
    if not relevant:
        return None
    if any(issuer_domain(r.value) in ours for r in relevant):
        return None
    kind = "issuewild" if relevant is wild else "issue"
    return problems.caa(
        f"CAA {kind} records at {owner} do not authorize this CA to issue for {identifier.value}"
    )
