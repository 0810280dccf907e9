"""Accounts (RFC 8555 §7.3): create, find, update, deactivate, key change."""
from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import josepy

from .. import metrics
from ..logs import audit
from ..protocol import jws, keys, problems
from ..protocol.identifiers import normalize
from ..protocol.messages import AccountUpdate, KeyChange, NewAccount
from ..protocol.status import AccountStatus
from ..store import accounts as account_store
from ..store.records import AccountRow
from . import blocked_keys, eab, events, ratelimits
from .env import Env

_LOCAL_PART = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
MAX_CONTACTS = 10


class KeyTaken(problems.Problem):
    """keyChange to a key that another account holds: 409 with that account's URL (§7.3.5)."""

    def __init__(self, account_id: uuid.UUID) -> None:
        base = problems.conflict("the new key already belongs to an account")
        super().__init__(base.type, base.detail, base.status)
        self.account_id = account_id


def validate_contacts(contacts: Sequence[str] | None) -> list[str]:
    """Accept only `mailto:` URLs with one plain address each (RFC 8555 §7.3)."""
    result: list[str] = []
    for contact in contacts or ():
        if not isinstance(contact, str) or ":" not in contact:
            raise problems.invalid_contact(f"contact {contact!r} is not a URL")
        scheme, _, address = contact.partition(":")
        if scheme.lower() != "mailto":
            raise problems.unsupported_contact(f"only mailto: contacts are supported, not {scheme}:")
        if "?" in address or "," in address or address.count("@") != 1:
            raise problems.invalid_contact(f"{contact!r} must hold exactly one address, no headers")
        local, _, domain = address.partition("@")
        if not _LOCAL_PART.match(local) or ".." in local:
            raise problems.invalid_contact(f"{contact!r} has an invalid local part")
        try:
            ident = normalize("dns", domain)
        except problems.Problem:
            raise problems.invalid_contact(f"{contact!r} has an invalid domain") from None
        if ident.wildcard or "." not in ident.value:
            raise problems.invalid_contact(f"{contact!r} has an invalid domain")
        result.append(f"mailto:{local}@{ident.value}")
    if len(result) > MAX_CONTACTS:
        raise problems.invalid_contact(f"at most {MAX_CONTACTS} contacts are allowed")
    return result


def jwk_json(jwk: josepy.JWK) -> dict[str, Any]:
    """The public JWK as stored."""
    return jwk.public_key().to_json()


def _check_key(env: Env, jwk: josepy.JWK) -> None:
    """badPublicKey naming the rule an account key breaks (protocol.keys)."""
    reason = keys.key_problem(jws.public_key_of(jwk), keys.account_policy(env.settings.security))
    if reason:
        raise problems.bad_public_key(reason)


def new_account(
    env: Env, jwk: josepy.JWK, msg: NewAccount, *, url: str = "", remote_addr: str | None = None
) -> tuple[AccountRow, bool]:
    """Return (account, created). An existing key returns its account (RFC 8555 §7.3.1).

    `url` is the newAccount URL the request was signed for; an external account binding
    must name it (RFC 8555 §7.3.4). A binding, when given, is always verified and its key
    bound to the new account; `acme.external_account_required` makes it mandatory.
    A creation counts against `remote_addr`'s new_accounts_per_ip limit (rateLimited).
    """
    thumbprint = jws.thumbprint(jwk)
    with env.pool.connection() as conn:
        existing = account_store.find_account_by_thumbprint(conn, thumbprint)
    if existing is not None:
        if existing.status != AccountStatus.VALID:
            raise problems.unauthorized(f"account is {existing.status}")
        return existing, False
    if msg.only_return_existing:
        raise problems.account_does_not_exist("no account exists with this key")
    _check_key(env, jwk)
    contacts = validate_contacts(msg.contact)
    tos_url = env.settings.acme.terms_of_service
    agreed = bool(msg.terms_of_service_agreed)
    if tos_url and env.settings.tos.require_agreement and not agreed:
        raise problems.user_action_required(
            "you must agree to the terms of service (termsOfServiceAgreed: true)",
            instance=tos_url, terms_of_service=tos_url,
        )
    if env.settings.acme.external_account_required and not msg.external_account_binding:
        raise problems.external_account_required("this server requires external account binding")
    binding = msg.external_account_binding
    spki = keys.spki_sha256(jws.public_key_of(jwk))
    with env.pool.connection() as conn, conn.transaction():
        blocked_keys.refuse_if_blocked(conn, spki)  # RFC 8555 §7.6
        kid = eab.verify(conn, binding, url=url, account_jwk=jwk) if binding else None
        row = account_store.insert_account(
            conn, uuid.uuid4(), jwk=jwk_json(jwk), thumbprint=thumbprint,
            spki_sha256=spki,
            contact=contacts, tos_agreed=agreed, eab_kid=kid,
        )
        if row is None:  # another request registered the same key first
            row = account_store.find_account_by_thumbprint(conn, thumbprint)
            assert row is not None
            return row, False
        ratelimits.take_new_account(env, conn, remote_addr)  # refused: the insert rolls back
        if kid is not None:
            eab.bind(conn, kid, row.id, env.clock())
        events.account_created(conn, env, row)
    env.log.info("account created", extra={"account_id": str(row.id)})
    metrics.ACCOUNTS_CREATED.inc()
    audit("account.created", actor=f"account:{row.id}", account_id=row.id,
          external_account_binding=kid is not None)
    return row, True


def update_account(env: Env, account: AccountRow, msg: AccountUpdate) -> AccountRow:
    """Update contacts, agree to the terms, or deactivate (RFC 8555 §7.3.2, §7.3.6)."""
    with env.pool.connection() as conn, conn.transaction():
        row: AccountRow | None = account
        if msg.status is not None:
            if msg.status != AccountStatus.DEACTIVATED:
                raise problems.malformed("status may only be set to deactivated")
            row = account_store.set_deactivated(conn, account.id)
            if row is None:
                raise problems.unauthorized("account is not valid")
            events.account_deactivated(conn, env, row, by="account")
            env.log.info("account deactivated", extra={"account_id": str(account.id)})
            metrics.ACCOUNTS_DEACTIVATED.inc()
            audit("account.deactivated", actor=f"account:{account.id}", account_id=account.id)
            return row
        if msg.contact is not None:
            row = account_store.update_contact(conn, account.id, validate_contacts(msg.contact))
        if msg.terms_of_service_agreed and row is not None and not row.tos_agreed:
            row = account_store.agree_tos(conn, account.id)
        if row is None:
            raise problems.unauthorized("account is not valid")
        return row


def change_key(
    env: Env, account: AccountRow, account_url: str, outer_url: str, msg: KeyChange
) -> AccountRow:
    """Roll the account key over (RFC 8555 §7.3.5).

    The inner JWS is signed by the new key, names the account and the old key; a key that
    already belongs to an account answers 409 with that account's URL in the problem.
    """
    sec = env.settings.security
    new_jwk, payload = jws.parse_key_change_inner(msg.jws, outer_url, sec.allowed_algorithms,
                                                  max(sec.rsa_key_sizes))
    if payload.get("account") != account_url:
        raise problems.malformed("keyChange: inner 'account' does not match the signing account")
    old_key = jws.parse_jwk(payload.get("oldKey"))
    if jws.thumbprint(old_key) != account.thumbprint:
        raise problems.malformed("keyChange: 'oldKey' is not the account's current key")
    _check_key(env, new_jwk)
    new_thumbprint = jws.thumbprint(new_jwk)
    try:
        with env.pool.connection() as conn, conn.transaction():
            new_spki = keys.spki_sha256(jws.public_key_of(new_jwk))
            blocked_keys.refuse_if_blocked(conn, new_spki)  # RFC 8555 §7.6
            holder = account_store.find_account_by_thumbprint(conn, new_thumbprint)
            if holder is not None:
                raise KeyTaken(holder.id)
            row = account_store.change_key(
                conn, account.id, old_thumbprint=account.thumbprint,
                jwk=jwk_json(new_jwk), thumbprint=new_thumbprint, spki_sha256=new_spki,
            )
            if row is not None:  # the contacts hear of it: a stolen key shows
                events.account_key_changed(conn, env, row, account.thumbprint)
    except account_store.KeyInUse:  # a concurrent roll-over or newAccount took the key first
        with env.pool.connection() as conn:
            holder = account_store.find_account_by_thumbprint(conn, new_thumbprint)
        if holder is None:
            raise problems.conflict("the new key was taken concurrently; retry") from None
        raise KeyTaken(holder.id) from None
    if row is None:
        raise problems.conflict("the account key changed concurrently; retry")
    env.log.info("account key changed", extra={"account_id": str(account.id)})
    audit("account.key_changed", actor=f"account:{account.id}", account_id=account.id,
          old_thumbprint=account.thumbprint, new_thumbprint=new_thumbprint)
    return row


def deactivate_by_admin(env: Env, account_id: uuid.UUID) -> AccountRow:
    """valid → deactivated on an operator's request (same end state as RFC 8555 §7.3.6).

    404 when the account does not exist, 409 when it is not valid.
    """
    with env.pool.connection() as conn, conn.transaction():
        row = account_store.set_deactivated(conn, account_id)
        if row is None:
            current = account_store.get_account(conn, account_id)
            if current is None:
                raise problems.not_found("no such account")
            raise problems.conflict(f"account is {current.status}, not valid")
        events.account_deactivated(conn, env, row, by="operator")
    env.log.info("account deactivated by an operator", extra={"account_id": str(account_id)})
    metrics.ACCOUNTS_DEACTIVATED.inc()
    audit("account.deactivated", actor="operator", account_id=account_id)
    return row
