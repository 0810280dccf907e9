"""Frozen settings: one dataclass per object of schema.yaml, attribute = schema key.

Defaults live only in schema.yaml; these classes carry no defaults of their own, so a
Settings can only be built from a validated, default-filled dict (see `build`).
Arrays are tuples, `type: number` is float, nested objects are nested dataclasses.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    external_url: str
    bind: str
    port: int
    workers: int
    worker_class: str
    threads: int
    timeout: int
    graceful_timeout: int
    keepalive: int
    max_requests: int
    max_requests_jitter: int
    max_body_bytes: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    url: str | None
    host: str
    port: int
    database: str
    user: str
    # repr=False: never let a secret reach a log line or traceback through repr().
    password: str | None = dataclasses.field(repr=False)
    sslmode: str
    min_connections: int
    max_connections: int
    connect_timeout: int
    auto_setup: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AcmeSettings:
    path_prefix: str
    terms_of_service: str | None
    website: str | None
    caa_identities: tuple[str, ...]
    external_account_required: bool
    retry_after_seconds: int
    orders_page_size: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Http01Settings:
    port: int
    timeout_seconds: float
    max_redirects: int
    max_body_bytes: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Dns01Settings:
    resolvers: tuple[str, ...]
    timeout_seconds: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TlsAlpn01Settings:
    port: int
    timeout_seconds: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChallengesSettings:
    enabled: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    max_attempts: int
    validation_threads: int
    http01: Http01Settings
    dns01: Dns01Settings
    tlsalpn01: TlsAlpn01Settings


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CASettings:
    certificate: str | None
    key: str | None
    key_password: str | None = dataclasses.field(repr=False)
    chain: str | None
    validity_days: int
    backdate_seconds: int
    hash: str
    client_auth: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IdentifiersSettings:
    allowed_suffixes: tuple[str, ...]
    forbidden_names: tuple[str, ...]
    wildcards: bool
    ip_addresses: bool
    allowed_networks: tuple[str, ...]
    max_per_order: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SecuritySettings:
    allowed_algorithms: tuple[str, ...]
    min_rsa_bits: int
    max_rsa_bits: int
    allowed_curves: tuple[str, ...]
    identifiers: IdentifiersSettings


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NonceSettings:
    lifetime_seconds: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OrderSettings:
    lifetime_seconds: int
    authz_lifetime_seconds: int
    valid_authz_lifetime_seconds: int
    authz_reuse: bool
    authz_reuse_min_remaining_seconds: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TosSettings:
    require_agreement: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoggingSettings:
    level: str
    format: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DevSettings:
    enabled: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The whole configuration; `source_path` is the file it came from (None if built from a dict)."""

    server: ServerSettings
    database: DatabaseSettings
    acme: AcmeSettings
    challenges: ChallengesSettings
    ca: CASettings
    security: SecuritySettings
    nonce: NonceSettings
    order: OrderSettings
    tos: TosSettings
    logging: LoggingSettings
    dev: DevSettings
    source_path: Path | None = None


# Attributes of Settings that are not schema keys.
NON_SCHEMA_FIELDS = frozenset({"source_path"})


def build(cls: type[T], data: dict[str, Any], **extra: Any) -> T:
    """Instantiate dataclass `cls` from a validated, default-filled dict (recursively).

    Raises KeyError/TypeError only if `data` does not match the schema, which validation
    has already guaranteed.
    """
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = dict(extra)
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in NON_SCHEMA_FIELDS:
            continue
        kwargs[field.name] = _convert(hints[field.name], data[field.name])
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value)
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        return tuple(_convert(item_hint, v) for v in value)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner, value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float):
        # JSON Schema counts 1.0 as an integer; keep the Python type honest.
        return int(value)
    return value
