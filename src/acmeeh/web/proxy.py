"""The client address behind trusted reverse proxies (X-Forwarded-For, X-Forwarded-Proto)."""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str, trusted: Iterable[Network]) -> str:
    """The right-most address that is not a trusted proxy.

    Only hops appended by trusted proxies are believed: walking X-Forwarded-For from the right,
    the first address outside the trusted networks is the client. An untrusted peer is the
    client itself, whatever it claims.
    """
    nets = list(trusted)

    def is_trusted(text: str) -> bool:
        addr = _parse(text)
        return addr is not None and any(addr in n for n in nets)

    if not is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop if _parse(hop) is not None else peer
    return hops[0] if hops else peer


class ProxyFix:
    """WSGI middleware setting REMOTE_ADDR from X-Forwarded-For for trusted peers only."""

    def __init__(self, app: Callable[..., Any], trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.trusted = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        environ["REMOTE_ADDR"] = client_address(
            peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
        )
        return self.app(environ, start_response)
