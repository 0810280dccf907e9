"""Certificate profiles (ca.profiles): which one an order gets, and what it allows.

The ACME profiles extension (draft-ietf-acme-profiles) lets a client name a profile in newOrder;
an order that names none gets ca.default_profile. The admin API may restrict the profiles of
the account bound to an EAB key and of one account (both narrow). The profile's leaf shape goes
to the CA backend as an issuance.LeafProfile.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence

from ..config.settings import CASettings, ProfileSettings
from ..issuance.backend import LeafProfile
from ..protocol import keys, problems
from ..protocol.identifiers import Identifier
from ..protocol.status import IdentifierType
from ..store import accounts as account_store
from ..store import eab as eab_store
from ..store import profile_restrictions as restriction_store
from ..store.db import Connection
from ..store.profile_restrictions import ProfileRestrictionRow
from ..store.records import AccountRow
from . import policy
from .env import Env


def leaf_profile(ca: CASettings, profile: ProfileSettings) -> LeafProfile:
    """The leaf shape of `profile`. ca.validity_days stands in for a validity_days of null,
    and ca.client_auth adds clientAuth to the default profile (what that key meant before
    profiles existed)."""
    usages = profile.extended_key_usage
    if ca.client_auth and profile.name == ca.default_profile and "client_auth" not in usages:
        usages = (*usages, "client_auth")
    return LeafProfile(
        name=profile.name,
        validity_days=profile.validity_days or ca.validity_days,
        key_usage=profile.key_usage,
        extended_key_usage=usages,
        common_name=profile.common_name,
    )


def configured(ca: CASettings, name: str | None) -> ProfileSettings:
    """The profile called `name` (ca.default_profile when None); invalidProfile when the
    configuration has no such profile."""
    chosen = ca.default_profile if name is None else name
    profile = next((p for p in ca.profiles if p.name == chosen), None)
    if profile is None:
        raise problems.invalid_profile(f"the server has no profile {chosen!r}")
    return profile


def check_identifiers(profile: ProfileSettings, identifiers: Sequence[Identifier]) -> None:
    """The order fits the profile: at most max_names identifiers (malformed, as
    security.identifiers.max_per_order), and ip identifiers only where the profile allows
    iPAddress names (rejectedIdentifier, one subproblem per address)."""
    if len(identifiers) > profile.max_names:
        raise problems.malformed(
            f"profile {profile.name} allows at most {profile.max_names} identifiers per order; "
            f"this one has {len(identifiers)}")
    if not profile.ip_addresses:
        policy.raise_refusals([
            problems.rejected_identifier(
                f"profile {profile.name} does not allow ip identifiers ({i.value})",
                identifier=i.to_json())
            for i in identifiers if i.type == IdentifierType.IP
        ])


def check_key(profile: ProfileSettings, public_key: object) -> None:
    """badCSR unless the CSR's key is of a type the profile accepts (security.leaf_key_types
    was checked already)."""
    kind = keys.key_type(public_key)
    if kind not in profile.key_types:
        raise problems.bad_csr(
            f"profile {profile.name} does not accept {kind or 'these'} keys "
            f"(accepted: {', '.join(profile.key_types)})")


def check_restrictions(rows: Sequence[ProfileRestrictionRow], profile: ProfileSettings) -> None:
    """invalidProfile unless every restriction that binds the account (`rows`: its own, its
    EAB key's, set through the admin API; store.new_order_checks reads them) lists the
    profile."""
    if any(profile.name not in row.profiles for row in rows):
        allowed = set.intersection(*(set(row.profiles) for row in rows))
        names = ", ".join(sorted(allowed)) or "none"
        raise problems.invalid_profile(
            f"profile {profile.name} is not allowed for this account (allowed: {names})")


def check_scope(env: Env, scope: str, scope_id: str) -> None:
    """notFound unless the EAB key (scope eab) or account (scope account) exists."""
    with env.pool.connection() as conn:
        if scope == "eab":
            found = eab_store.get_key(conn, scope_id) is not None
        else:
            found = account_store.get_account(conn, uuid.UUID(scope_id)) is not None
    if not found:
        raise problems.not_found(f"no such {'EAB key' if scope == 'eab' else 'account'}")


def restrict(env: Env, *, scope: str, scope_id: str, names: list[str] | None,
             actor: str | None) -> ProfileRestrictionRow | None:
    """Limit the profiles of an EAB key's account or of an account to `names` (each a profile
    of ca.profiles, else malformed); None lifts the limit. notFound for an unknown key or
    account. Returns the restriction now in force (None: none)."""
    check_scope(env, scope, scope_id)
    if names is not None:
        configured_names = [p.name for p in env.settings.ca.profiles]
        unknown = [n for n in names if n not in configured_names]
        if unknown:
            raise problems.malformed(f"unknown profile {', '.join(unknown)} "
                                     f"(configured: {', '.join(configured_names)})")
    with env.pool.connection() as conn:
        if names is None:
            restriction_store.lift_restriction(conn, scope=scope, scope_id=scope_id)
            row = None
        else:
            row = restriction_store.set_restriction(
                conn, scope=scope, scope_id=scope_id, profiles=list(dict.fromkeys(names)),
                updated_by=actor)
    env.log.info("profile restriction set", extra={"scope": scope, "scope_id": scope_id,
                                                   "profiles": names, "actor": actor})
    return row
