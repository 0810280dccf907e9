"""Certificate profiles (ca.profiles): which one an order gets, and what it allows.

The ACME profiles extension (draft-ietf-acme-profiles) lets a client name a profile in newOrder;
an order that names none gets ca.default_profile. The profile's leaf shape goes to the CA
backend as an issuance.LeafProfile.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..config.settings import CASettings, ProfileSettings
from ..issuance.backend import LeafProfile
from ..protocol import keys, problems
from ..protocol.identifiers import Identifier
from ..protocol.status import IdentifierType
from . import policy


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
