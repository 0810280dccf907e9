"""The CRL (freshness, rebuild now) and the ARI renewal window of one certificate: what
renewalInfo suggests (RFC 9773 §4.2), set or cleared by an operator."""
from __future__ import annotations

import uuid

from flask import Response

from ..authority import crl, renewal
from . import problems, render
from .blueprint import audited, body, ctx, json_response, note
from .inputs import Query, parse_time


def get_crl_status() -> Response:
    Query(())
    return json_response(render.crl_status(crl.status(ctx().env)))


@audited("crl.rebuild")
def rebuild_crl() -> Response:
    """Build, sign and store a new CRL now, whatever the schedule."""
    body("Empty", optional=True)
    env = ctx().env
    note(target="crl")
    if not env.settings.crl.enabled:
        raise problems.conflict("the CRL is disabled (crl.enabled is false)")
    row = crl.rebuild(env, crl.load_signer(env), force=True)
    note(number=row.number, entries=row.entries)
    return json_response(render.crl(row))


def get_renewal_window(cert_id: uuid.UUID) -> Response:
    Query(())
    serial, info = renewal.window_of(ctx().env, cert_id)
    return json_response(render.renewal_window(cert_id, serial, info))


@audited("certificate.renewal_window.set", target="certificate:{cert_id}")
def set_renewal_window(cert_id: uuid.UUID) -> Response:
    """The window renewalInfo suggests from now on, with an optional explanationURL."""
    data = body("RenewalWindowUpdate")
    start, end = parse_time(data["start"], "start"), parse_time(data["end"], "end")
    url = data.get("explanation_url")
    serial, info = renewal.set_window(ctx().env, cert_id, start=start, end=end,
                                      explanation_url=url)
    note(serial=serial, start=data["start"], end=data["end"], explanation_url=url)
    return json_response(render.renewal_window(cert_id, serial, info))


@audited("certificate.renewal_window.clear", target="certificate:{cert_id}")
def clear_renewal_window(cert_id: uuid.UUID) -> Response:
    """Back to the computed window; answers the window renewalInfo suggests now."""
    serial, info = renewal.clear_window(ctx().env, cert_id)
    note(serial=serial)
    return json_response(render.renewal_window(cert_id, serial, info))
