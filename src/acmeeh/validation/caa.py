"""CAA (RFC 8659, with RFC 8657): may this CA issue for a DNS identifier, to this account,
validated this way? Climb the tree, read issue/issuewild and their parameters.

Failing closed: a lookup that fails (SERVFAIL, timeout) forbids issuance, as does a property
value that does not parse, a critical property we do not know, or a parameter that does not
match. Every refusal is a `caa` problem (403) naming the identifier.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

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
# RFC 8659 §4.2: tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)); value = *(%x21-3A / %x3C-7E)
_PARAM_TAG = re.compile(r"[A-Za-z0-9](?:-*[A-Za-z0-9])*")
_PARAM_VALUE = re.compile(r"[\x21-\x3a\x3c-\x7e]*")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")


@dataclass(frozen=True)
class IssueValue:
    """A parsed issue / issuewild value: the issuer domain ("" names nobody) and parameters."""

    issuer: str
    parameters: dict[str, str]


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


def parse_issue_value(value: str) -> IssueValue | None:
    """RFC 8659 §4.2 issue-value; None when it does not parse (such a record authorizes no CA)."""
    head, sep, rest = value.partition(";")
    issuer = head.strip(" \t").rstrip(".").lower()
    if issuer and not _DOMAIN.fullmatch(issuer):
        return None
    parameters: dict[str, str] = {}
    if sep and rest.strip(" \t"):
        for part in rest.split(";"):
            tag, eq, text = part.partition("=")
            tag, text = tag.strip(" \t"), text.strip(" \t")
            if not eq or not _PARAM_TAG.fullmatch(tag) or not _PARAM_VALUE.fullmatch(text):
                return None
            if tag.lower() in parameters:
                return None  # the same parameter twice: ambiguous, so no authorization
            parameters[tag.lower()] = text
    return IssueValue(issuer, parameters)


def _authorizes(value: IssueValue, ours: set[str], account_uri: str, method: str) -> bool:
    """Whether one parsed property authorizes us for this account and validation method."""
    if not value.issuer or value.issuer not in ours:
        return False
    # RFC 8657 §3: accounturi must be the exact URI of the account asking.
    if "accounturi" in value.parameters and value.parameters["accounturi"] != account_uri:
        return False
    # RFC 8657 §4: validationmethods lists the ACME method labels allowed.
    if "validationmethods" in value.parameters:
        allowed = {m.strip() for m in value.parameters["validationmethods"].split(",")}
        if method not in allowed:
            return False
    return True


def check(
    identifier: Identifier,
    issuer_domains: tuple[str, ...],
    *,
    account_uri: str,
    method: str,
    resolver: Resolver,
    timeout: float,
) -> Problem | None:
    """None when issuance is allowed, else a `caa` problem (403) naming the identifier.

    With no `issuer_domains` no `issue` property can name us: any relevant issue (or
    issuewild) property forbids issuance, and a name without CAA records is allowed.
    IP identifiers have no CAA (RFC 8738 §7 leaves it undefined), so they pass.
    """
    if identifier.type == "ip":
        return None
    ident = identifier.to_json()
    ours = {d.strip().rstrip(".").lower() for d in issuer_domains}
    try:
        owner, found = relevant_records(identifier.base, resolver, time.monotonic() + timeout)
    except LookupFailed as exc:
        # RFC 8659 §3: a failed lookup is no permission to issue.
        return problems.caa(f"CAA lookup for {identifier.value} failed: {exc}", identifier=ident)
    if not found:
        return None
    for record in found:
        if record.critical and record.tag.lower() not in KNOWN_TAGS:
            return problems.caa(
                f"CAA record at {owner} has the critical property {record.tag[:40]!r} "
                "that this CA does not understand",
                identifier=ident,
            )
    issue = [r for r in found if r.tag.lower() == "issue"]
    wild = [r for r in found if r.tag.lower() == "issuewild"]
    # RFC 8659 §4.3: issuewild, when present, replaces issue for wildcard names and is
    # ignored for all others.
    relevant = wild if identifier.wildcard and wild else issue
    if not relevant:
        return None
    parsed = [parse_issue_value(r.value) for r in relevant]
    if any(v is not None and _authorizes(v, ours, account_uri, method) for v in parsed):
        return None
    kind = "issuewild" if relevant is wild else "issue"
    return problems.caa(
        f"CAA {kind} records at {owner} do not authorize this CA to issue for "
        f"{identifier.value} to this account by {method}",
        identifier=ident,
    )
