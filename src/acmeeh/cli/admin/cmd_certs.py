"""`certificates` (search, show, download, revoke, bulk-revoke) and `renewal-window` (the ARI
window renewalInfo suggests, RFC 9773 §4.2). A certificate is named by id or serial."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from . import output
from .client import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, CliError
from .context import Context
from .output import Column, when
from .tree import Tree

# RFC 5280 §5.3.1 CRLReason names the API accepts (certificateHold is not supported).
# The RFC 5280 reasons an operator may give (removeFromCRL and the CA reasons are refused).
REASONS = {"unspecified": 0, "keyCompromise": 1, "affiliationChanged": 3, "superseded": 4,
           "cessationOfOperation": 5, "certificateHold": 6, "privilegeWithdrawn": 9}
CERT_COLUMNS: list[Column] = [("ID", "id"), ("SERIAL", "serial"), ("NAMES", "names"), ("STATUS", "status"),
                ("NOT AFTER", lambda c: when(c.get("not_after")))]
CERT_FIELDS: list[Column] = [("id", "id"), ("serial", "serial"), ("names", "names"), ("status", "status"),
               ("not before", "not_before"), ("not after", "not_after"),
               ("account", "account_id"), ("order", "order_id"),
               ("fingerprint (SHA-256)", "fingerprint"), ("revoked at", "revoked_at"),
               ("revocation reason", "revocation_reason"), ("issued", "created_at")]
WINDOW_FIELDS: list[Column] = [("certificate", "certificate_id"), ("serial", "serial"), ("source", "source"),
                 ("start", "start"), ("end", "end"), ("explanation URL", "explanation_url"),
                 ("retry after (s)", "retry_after")]


def reason_code(text: str) -> int:
    """An RFC 5280 reason name (any case) or number."""
    if text.isdigit() and int(text) in REASONS.values():
        return int(text)
    for name, code in REASONS.items():
        if name.lower() == text.lower():
            return code
    raise CliError(f"--reason {text!r}: one of {', '.join(REASONS)} (or its number)", EXIT_USAGE)


def cert_id(ctx: Context, ref: str) -> str:
    """The id of the certificate `ref` names: an id, or a serial in hex (colons allowed)."""
    try:
        return str(uuid.UUID(ref))
    except ValueError:
        pass
    page = ctx.api.call("listCertificates", query={"serial": ref, "limit": 1})
    if not page["items"]:
        raise CliError(f"no certificate with serial {ref}", EXIT_NOT_FOUND)
    return str(page["items"][0]["id"])


def _filters(ctx: Context) -> dict[str, Any]:
    return {k: ctx.opt(k) for k in ("serial", "name", "account_id", "expires_after",
                                    "expires_before", "status") if ctx.opt(k) is not None}


def search(ctx: Context) -> int:
    return ctx.listing("listCertificates", _filters(ctx), CERT_COLUMNS)


def show(ctx: Context) -> int:
    got = ctx.api.call("getCertificate", params={"cert_id": cert_id(ctx, ctx.opt("cert"))})
    if ctx.json:
        output.as_json(got)
        return EXIT_OK
    output.fields(got, CERT_FIELDS)
    return EXIT_OK


def download(ctx: Context) -> int:
    """Write the PEM chain to --output (mode 0644) or standard output."""
    got = ctx.api.call("getCertificate", params={"cert_id": cert_id(ctx, ctx.opt("cert"))})
    pem = got["pem"]
    target = ctx.opt("output")
    if target in (None, "-"):
        sys.stdout.write(pem)
        return EXIT_OK
    Path(target).write_text(pem, encoding="ascii")
    output.note(f"wrote {target} (serial {got['serial']})")
    return EXIT_OK


def revoke(ctx: Context) -> int:
    ident = cert_id(ctx, ctx.opt("cert"))
    got = ctx.api.call("revokeCertificate", params={"cert_id": ident},
                       body={"reason": reason_code(ctx.opt("reason"))})
    return ctx.show(got, CERT_FIELDS)


def _confirm(count: int) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"Revoke {count} certificate(s)? Type 'yes' to go on: ")
    return answer.strip().lower() == "yes"


def bulk_revoke(ctx: Context) -> int:
    """Count with --dry-run; otherwise count, confirm (or --yes), then revoke."""
    flt = _filters(ctx)
    if not flt:
        raise CliError("give at least one filter (--serial, --name, --account-id, "
                       "--expires-after, --expires-before, --status)", EXIT_USAGE)
    request = {"filter": flt, "reason": reason_code(ctx.opt("reason")), "dry_run": True}
    counted = ctx.api.call("bulkRevoke", body=request)
    if not ctx.opt("dry_run") and counted["matched"]:
        if not ctx.opt("yes") and not _confirm(counted["matched"]):
            raise CliError(f"{counted['matched']} certificate(s) match; nothing revoked (confirm "
                           f"with --yes)", EXIT_USAGE)
        counted = ctx.api.call("bulkRevoke", body={**request, "dry_run": False})
    if ctx.json:
        output.as_json(counted)
    elif not counted["matched"]:
        print("no certificate matches")
    elif counted["dry_run"]:
        print(f"{counted['matched']} certificate(s) match (dry run: nothing revoked)")
    else:
        print(f"{counted['revoked']} of {counted['matched']} matching certificate(s) revoked")
    return EXIT_OK


def show_window(ctx: Context) -> int:
    code = EXIT_OK
    for ref in ctx.opt("certs"):
        got = ctx.api.call("getRenewalWindow", params={"cert_id": cert_id(ctx, ref)})
        code = max(code, ctx.show(got, WINDOW_FIELDS))
    return code


def set_window(ctx: Context) -> int:
    body = {"start": ctx.opt("start"), "end": ctx.opt("end")}
    if ctx.opt("explanation_url"):
        body["explanation_url"] = ctx.opt("explanation_url")
    for ref in ctx.opt("certs"):
        got = ctx.api.call("setRenewalWindow", params={"cert_id": cert_id(ctx, ref)}, body=body)
        ctx.show(got, WINDOW_FIELDS)
    return EXIT_OK


def clear_window(ctx: Context) -> int:
    for ref in ctx.opt("certs"):
        got = ctx.api.call("clearRenewalWindow", params={"cert_id": cert_id(ctx, ref)})
        ctx.show(got, WINDOW_FIELDS)
    return EXIT_OK


def _filter_options(parser: Any, statuses: tuple[str, ...]) -> None:
    parser.add_argument("--serial", help="serial number in hex (colons allowed)")
    parser.add_argument("--name", help="a dns name or ip address in the certificate")
    parser.add_argument("--account-id")
    parser.add_argument("--expires-after", metavar="RFC3339", help="notAfter at or after")
    parser.add_argument("--expires-before", metavar="RFC3339", help="notAfter before")
    parser.add_argument("--status", choices=statuses)


def register(tree: Tree) -> None:
    certs = tree.group("certificates", "issued certificates: search, show, download, revoke")
    p = certs.command("search", search, ["listCertificates"], "search certificates", paged=True)
    _filter_options(p, ("valid", "expired", "revoked"))
    certs.command("show", show, ["getCertificate", "listCertificates"],
                  "show a certificate (by id or serial)").add_argument("cert")
    p = certs.command("download", download, ["getCertificate", "listCertificates"],
                      "write the PEM chain of a certificate")
    p.add_argument("cert")
    p.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    p = certs.command("revoke", revoke, ["revokeCertificate", "listCertificates"],
                      "revoke a certificate (by id or serial)")
    p.add_argument("cert")
    p.add_argument("--reason", default="unspecified", help="RFC 5280 reason name or number")
    p = certs.command("bulk-revoke", bulk_revoke, ["bulkRevoke"],
                      "revoke every unrevoked certificate matching the filters (at most 10000)")
    _filter_options(p, ("valid", "expired"))
    p.add_argument("--reason", default="unspecified", help="RFC 5280 reason name or number")
    p.add_argument("--dry-run", action="store_true", help="only count the matches")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    window = tree.group("renewal-window", "the ARI renewal window (RFC 9773) renewalInfo "
                        "suggests for certificates")
    window.command("show", show_window, ["getRenewalWindow", "listCertificates"],
                   "the window suggested now").add_argument("certs", nargs="+", metavar="cert")
    p = window.command("set", set_window, ["setRenewalWindow", "listCertificates"],
                       "suggest your own window (in the past: renew at once)")
    p.add_argument("certs", nargs="+", metavar="cert", help="certificate ids or serials")
    p.add_argument("--start", required=True, metavar="RFC3339")
    p.add_argument("--end", required=True, metavar="RFC3339")
    p.add_argument("--explanation-url", metavar="URL",
                   help="a page telling people why (explanationURL)")
    window.command("clear", clear_window, ["clearRenewalWindow", "listCertificates"],
                   "back to the computed window").add_argument("certs", nargs="+",
                                                                metavar="cert")
