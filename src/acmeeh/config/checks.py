"""Checks a JSON Schema cannot express: relations between keys, URLs, host:port, CIDRs.

Each yields (key path, message); each tolerates values the schema already refused.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from acmeeh.config.names import canonical_name

_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?")


_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _get(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _ca_backend_errors(doc: Any) -> Iterator[tuple[str, str]]:
    """What each built-in ca.backend needs (a third-party backend checks its own settings)."""
    backend = _get(doc, "ca.backend") or "file"
    cert, key = _get(doc, "ca.certificate"), _get(doc, "ca.key")
    if backend == "file":
        if key and not cert:
            yield "ca.key", "is set but ca.certificate is not"
        if cert and not key:
            yield "ca.certificate", "is set but ca.key is not"
    elif backend == "pkcs11":
        if key:
            yield "ca.key", "must be empty with ca.backend pkcs11 (the key is in the token)"
        if not _get(doc, "ca.pkcs11.module"):
            yield "ca.pkcs11.module", "is required with ca.backend pkcs11"
        if not _get(doc, "ca.pkcs11.token_label") and _get(doc, "ca.pkcs11.slot") is None:
            yield "ca.pkcs11.token_label", "or ca.pkcs11.slot is required with ca.backend pkcs11"
        if not _get(doc, "ca.pkcs11.key_label") and not _get(doc, "ca.pkcs11.key_id"):
            yield "ca.pkcs11.key_label", "or ca.pkcs11.key_id is required with ca.backend pkcs11"
    elif backend == "acme_upstream":
        if key:
            yield "ca.key", "must be empty with ca.backend acme_upstream (the upstream CA signs)"
        for needed in ("ca.certificate", "ca.acme_upstream.directory_url",
                       "ca.acme_upstream.account_key"):
            if not _get(doc, needed):
                yield needed, "is required with ca.backend acme_upstream"
        if bool(_get(doc, "ca.acme_upstream.eab_kid")) != bool(_get(doc, "ca.acme_upstream.eab_hmac_key")):
            yield "ca.acme_upstream.eab_kid", "and ca.acme_upstream.eab_hmac_key go together"
        for status in ("crl.enabled", "ocsp.enabled"):
            if _get(doc, status) is not False:
                yield status, "must be false with ca.backend acme_upstream (the upstream CA publishes the status of what it issues)"


def cross_field_errors(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Relations between keys and string formats; tolerant of values the schema refused."""
    yield from _ca_backend_errors(doc)

    yield from _profiles(doc)

    for dotted in ("challenges.http01.port", "challenges.tlsalpn01.port"):
        port = _get(doc, dotted)
        if isinstance(port, int) and not isinstance(port, bool) and not 1 <= port <= 65535:
            yield dotted, f"{port} is outside 1-65535"

    url = _get(doc, "server.external_url")
    if isinstance(url, str) and url:
        problem = external_url_problem(url)
        if problem:
            yield "server.external_url", problem
        else:
            doc["server"]["external_url"] = url.rstrip("/")

    for dotted in ("security.identifiers.forbidden_names", "security.identifiers.allowed_suffixes"):
        yield from _canonical_names(doc, dotted)
    yield from _each(doc, "challenges.dns01.resolvers", resolver_problem)
    yield from _each(doc, "challenges.allowed_networks", cidr_problem)
    yield from _each(doc, "security.identifiers.allowed_networks", cidr_problem)
    yield from _each(doc, "security.rate_limits.exempt_networks", cidr_problem)
    yield from _each(doc, "proxy.trusted_proxies", cidr_problem)
    yield from _each(doc, "webhooks.allowed_networks", cidr_problem)

    # Accepting challenges unchecked is only tolerable when an allow-list bounds what can be issued.
    # Both kinds of identifier must be bounded: dns names by suffix, ip addresses by network
    # (or not accepted at all).
    if _get(doc, "challenges.auto_accept") is True:
        if not _get(doc, "security.identifiers.allowed_suffixes"):
            yield (
                "challenges.auto_accept",
                "is on but security.identifiers.allowed_suffixes does not restrict dns names",
            )
        if _get(doc, "security.identifiers.ip_addresses") is not False and not _get(
            doc, "security.identifiers.allowed_networks"
        ):
            yield (
                "challenges.auto_accept",
                "is on but ip identifiers are accepted without security.identifiers.allowed_networks"
                " (set it, or ip_addresses: false)",
            )

    yield from _admin_api_errors(doc)

    db_url = _get(doc, "database.url")
    if isinstance(db_url, str) and not db_url.startswith(("postgresql://", "postgres://")):
        yield "database.url", "must start with postgresql:// or postgres://"


def _admin_api_errors(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """An enabled admin API needs a strong token secret and a path of its own."""
    if _get(doc, "admin_api.enabled") is not True:
        return
    secret = _get(doc, "admin_api.token_secret")
    if not isinstance(secret, str) or not secret:
        yield "admin_api.token_secret", "is required when admin_api.enabled is true"
    elif len(secret.encode("utf-8")) < 32:
        yield "admin_api.token_secret", "must be at least 32 bytes long"
    base, acme = _get(doc, "admin_api.base_path"), _get(doc, "acme.path_prefix")
    if isinstance(base, str) and isinstance(acme, str):
        base_s, acme_s = base.rstrip("/") + "/", acme.rstrip("/") + "/"
        if acme and (base_s.startswith(acme_s) or acme_s.startswith(base_s)):
            yield "admin_api.base_path", f"{base!r} overlaps acme.path_prefix ({acme!r})"
    board = _get(doc, "dashboard.path")
    if _get(doc, "dashboard.enabled") is not False and isinstance(board, str):
        board_s = board.rstrip("/") + "/"
        for key, other in (("admin_api.base_path", base), ("acme.path_prefix", acme)):
            other_s = (other or "").rstrip("/") + "/"
            if isinstance(other, str) and other and (board_s.startswith(other_s)
                                                     or other_s.startswith(board_s)):
                yield "dashboard.path", f"{board!r} overlaps {key} ({other!r})"


def _each(
    doc: dict[str, Any], dotted: str, check: Callable[[str], str | None]
) -> Iterator[tuple[str, str]]:
    items = _get(doc, dotted)
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if isinstance(item, str) and (problem := check(item)):
            yield f"{dotted}[{i}]", problem


def _canonical_names(doc: dict[str, Any], dotted: str) -> Iterator[tuple[str, str]]:
    """Rewrite a list of names in place to their canonical form; an error per bad entry."""
    items = _get(doc, dotted)
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if not isinstance(item, str):
            continue
        try:
            items[i] = canonical_name(item)
        except ValueError as exc:
            yield f"{dotted}[{i}]", str(exc)


def external_url_problem(url: str) -> str | None:
    """Why `url` is not an absolute http(s) base URL, or None when it is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} must be an absolute http:// or https:// URL with a host"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return f"{url!r} must not have a query or fragment"
    if parts.username is not None or parts.password is not None:
        return f"{url!r} must not contain user info"
    return None


def resolver_problem(entry: str) -> str | None:
    """Why `entry` is not host, host:port, an IPv6 address or [v6]:port; None when fine."""
    bad = f"{entry!r} is not host[:port] or [ipv6]:port"
    host, port = entry, None
    if entry.startswith("["):
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
        if not m:
            return bad
        host, port = m.group(1), m.group(2)
        if not _is_ip(host, 6):
            return bad
    elif entry.count(":") > 1:
        return None if _is_ip(entry, 6) else bad
    elif ":" in entry:
        host, port = entry.split(":")
        if not port.isdigit():
            return bad
    if port is not None and not 1 <= int(port) <= 65535:
        return f"{entry!r}: port {port} is outside 1-65535"
    if not (_is_ip(host, 4) or _is_ip(host, 6) or _HOSTNAME.fullmatch(host)):
        return bad
    return None


def cidr_problem(entry: str) -> str | None:
    """Why `entry` is not a network in CIDR notation (host bits clear); None when fine."""
    try:
        ipaddress.ip_network(entry, strict=True)
    except ValueError as exc:
        return f"{entry!r} is not a valid CIDR network ({exc})"
    return None


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _profiles(doc: Any) -> Iterator[tuple[str, str]]:
    """ca.profiles: at least one, names that travel well in JSON and logs, and
    ca.default_profile among them."""
    profiles, default = _get(doc, "ca.profiles"), _get(doc, "ca.default_profile")
    if not isinstance(profiles, dict):
        return
    if not profiles:
        yield "ca.profiles", "must hold at least one profile"
        return
    for name in profiles:
        if not _PROFILE_NAME.fullmatch(name):
            yield f"ca.profiles.{name}", "is not a profile name (1-64 of A-Z a-z 0-9 . _ -)"
    if isinstance(default, str) and default not in profiles:
        yield "ca.default_profile", f"{default!r} is not a profile of ca.profiles ({', '.join(profiles)})"
