"""`inspect order|certificate|account ID`: readable (or --json) summaries from the database."""
from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, TypeVar

from cryptography import x509

from ..store import accounts, authzs, certs, challenges, db, orders

R = TypeVar("R")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def _by_id(conn: Any, get: Callable[[Any, uuid.UUID], R | None], ident: str) -> R | None:
    """The row `get` reads for `ident` when it is a UUID; None when it is not one or not found."""
    try:
        row_id = uuid.UUID(ident)
    except ValueError:
        return None
    return get(conn, row_id)


def _order(conn: Any, ident: str) -> dict[str, Any] | None:
    order = _by_id(conn, orders.get_order, ident)
    if order is None:
        return None
    found = authzs.list_order_authorizations(conn, order.id)
    chals = challenges.list_challenges(conn, [a.id for a in found])
    result = asdict(order)
    result["authorizations"] = [
        {**asdict(a), "challenges": [asdict(c) for c in chals if c.authorization_id == a.id]}
        for a in found
    ]
    return result


def _certificate(conn: Any, ident: str) -> dict[str, Any] | None:
    row = _by_id(conn, certs.get_certificate, ident)
    if row is None:
        serial = ident.lower().replace(":", "").lstrip("0") or "0"
        row = certs.find_certificate_by_serial(conn, serial)
    if row is None:
        return None
    result = asdict(row)
    del result["der"]  # the PEM chain below carries it
    cert = x509.load_der_x509_certificate(row.der)
    result["subject"] = cert.subject.rfc4514_string()
    result["issuer"] = cert.issuer.rfc4514_string()
    return result


def _account(conn: Any, ident: str) -> dict[str, Any] | None:
    row = _by_id(conn, accounts.get_account, ident)
    if row is None:
        return None
    result = asdict(row)
    result["order_count"] = orders.count_account_orders(conn, row.id)
    return result


_LOADERS = {"order": _order, "certificate": _certificate, "account": _account}


def _print_text(kind: str, data: dict[str, Any]) -> None:
    nested = data.pop("authorizations", None)
    pem = data.pop("pem_chain", None)
    print(f"{kind} {data['id']}")
    for key, value in data.items():
        if key != "id":
            print(f"  {key:<18} {_show(value)}")
    for authz in nested or ():
        chals = authz.pop("challenges")
        print(f"  authorization {authz['id']}  {authz['identifier_type']}:"
              f"{'*.' if authz['wildcard'] else ''}{authz['identifier_value']}"
              f"  {authz['status']}  expires {_show(authz['expires'])}")
        for c in chals:
            line = f"    challenge {c['id']}  {c['type']:<12} {c['status']}"
            if c["error"]:
                line += f"  error: {c['error'].get('detail', '')}"
            print(line)
    if pem:
        print(pem.rstrip())


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=_json_default)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return "-" if value is None else str(value)


def run(args: argparse.Namespace, settings: Any) -> int:
    """Print the object; exit 0 when found, 1 when not."""
    with db.connect(settings.database) as conn:
        data = _LOADERS[args.inspect_kind](conn, args.id)
    if data is None:
        print(f"no {args.inspect_kind} {args.id}")
        return 1
    if getattr(args, "json", False):
        print(json.dumps(data, default=_json_default, indent=2))
    else:
        _print_text(args.inspect_kind, data)
    return 0
