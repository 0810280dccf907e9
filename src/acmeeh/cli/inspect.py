"""`inspect order|certificate|account ID`: readable (or --json) summaries from the database."""
from __future__ import annotations

import argparse
import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from cryptography import x509

from ..store import accounts, authzs, certs, challenges, db, orders


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _order(conn: Any, ident: str) -> dict[str, Any] | None:
    order_id = _uuid(ident)
    order = orders.get_order(conn, order_id) if order_id else None
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
    cert_id = _uuid(ident)
    row = certs.get_certificate(conn, cert_id) if cert_id else None
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
    account_id = _uuid(ident)
    row = accounts.get_account(conn, account_id) if account_id else None
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
