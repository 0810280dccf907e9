"""Frozen settings: one dataclass per object of schema.yaml, attribute = schema key.

Defaults live only in schema.yaml; these classes carry no defaults of their own, so a
Settings can only be built from a validated, default-filled dict (builder.build).
Arrays are tuples, `type: number` is float, nested objects are nested dataclasses.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, kw_only_default=True,
                     field_specifiers=(dataclasses.field,))
def section(cls: type[T]) -> type[T]:
    """Every settings class is a frozen, slotted, keyword-only dataclass."""
    return dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)


@section
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
    unavailable_retry_after_seconds: int


@section
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
    acquire_timeout_seconds: float
    auto_setup: bool
    prepare_threshold: int | None


@section
class AcmeSettings:
    path_prefix: str
    terms_of_service: str | None
    website: str | None
    caa_identities: tuple[str, ...]
    external_account_required: bool
    retry_after_seconds: int
    orders_page_size: int


@section
class Http01Settings:
    port: int
    timeout_seconds: float
    max_redirects: int
    max_body_bytes: int


@section
class Dns01Settings:
    resolvers: tuple[str, ...]
    timeout_seconds: float


@section
class TlsAlpn01Settings:
    port: int
    timeout_seconds: float


@section
class BackgroundWorkerSettings:
    enabled: bool
    poll_seconds: float
    stale_seconds: float
    batch_size: int
    max_requeues: int


@section
class ChallengesSettings:
    enabled: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    max_attempts: int
    retry_backoff_seconds: float
    validation_threads: int
    validation_queue_size: int
    max_pending_per_account: int
    auto_accept: bool
    http01: Http01Settings
    dns01: Dns01Settings
    tlsalpn01: TlsAlpn01Settings
    background_worker: BackgroundWorkerSettings


@section
class CaaSettings:
    enabled: bool
    recheck_after_seconds: int


@section
class WorkersSettings:
    election_seconds: float


@section
class BackendOption:
    name: str
    value: str = dataclasses.field(repr=False)  # may be a secret


@section
class Pkcs11Settings:
    module: str | None
    token_label: str | None
    slot: int | None
    key_label: str | None
    key_id: str | None
    pin: str | None = dataclasses.field(repr=False)
    max_sessions: int
    session_wait_seconds: float


@section
class ProfileSettings:
    """One entry of ca.profiles; `name` is its key there."""

    name: str
    description: str
    validity_days: int | None
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...]
    key_types: tuple[str, ...]
    max_names: int
    common_name: bool
    ip_addresses: bool


@section
class AcmeUpstreamSettings:
    directory_url: str | None
    account_key: str | None
    contact: tuple[str, ...]
    eab_kid: str | None
    eab_hmac_key: str | None = dataclasses.field(repr=False)
    ca_bundle: str | None
    challenge_type: str
    timeout_seconds: float
    order_timeout_seconds: float


@section
class CASettings:
    certificate: str | None
    key: str | None
    key_password: str | None = dataclasses.field(repr=False)
    chain: str | None
    validity_days: int
    backdate_seconds: int
    hash: str
    client_auth: bool
    backend: str
    options: tuple[BackendOption, ...]
    pkcs11: Pkcs11Settings
    acme_upstream: AcmeUpstreamSettings
    alternate_chains: tuple[str, ...]
    default_profile: str
    profiles: tuple[ProfileSettings, ...]  # ca.profiles, in the order of the configuration file


@section
class LintSettings:
    enabled: bool
    linter: str
    ignore: tuple[str, ...]


@section
class IdentifiersSettings:
    allowed_suffixes: tuple[str, ...]
    forbidden_names: tuple[str, ...]
    wildcards: bool
    ip_addresses: bool
    allowed_networks: tuple[str, ...]
    max_per_order: int


@section
class RateLimitSettings:
    count: int
    window_seconds: int


@section
class RateLimitsSettings:
    enabled: bool
    exempt_networks: tuple[str, ...]
    gc_interval_seconds: float
    new_accounts_per_ip: RateLimitSettings
    new_orders_per_account: RateLimitSettings
    certificates_per_account: RateLimitSettings
    failed_validations_per_account_per_name: RateLimitSettings


@section
class SecuritySettings:
    allowed_algorithms: tuple[str, ...]
    rsa_key_sizes: tuple[int, ...]
    leaf_key_types: tuple[str, ...]
    identifiers: IdentifiersSettings
    rate_limits: RateLimitsSettings


@section
class NonceSettings:
    lifetime_seconds: int
    gc_interval_seconds: float


@section
class OrderSettings:
    lifetime_seconds: int
    authz_lifetime_seconds: int
    valid_authz_lifetime_seconds: int
    authz_reuse: bool
    authz_reuse_min_remaining_seconds: int
    cleanup_interval_seconds: float
    stale_processing_threshold_seconds: float


@section
class TosSettings:
    require_agreement: bool


@section
class AuditLoggingSettings:
    enabled: bool
    file: str | None


@section
class AccessLoggingSettings:
    enabled: bool


@section
class LoggingSettings:
    level: str
    format: str
    audit: AuditLoggingSettings
    access_log: AccessLoggingSettings


@section
class MetricsSettings:
    enabled: bool
    path: str
    auth_required: bool
    token: str | None = dataclasses.field(repr=False)


@section
class NotificationsSettings:
    enabled: bool
    expiration_warning_days: tuple[int, ...]
    expiration_check_interval_seconds: int
    max_retries: int
    retry_delay_seconds: int
    retry_backoff_multiplier: float
    retry_max_delay_seconds: int
    batch_size: int
    delivery_interval_seconds: int
    disabled_types: tuple[str, ...]


@section
class SmtpSettings:
    enabled: bool
    host: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None = dataclasses.field(repr=False)
    from_address: str | None
    timeout_seconds: float
    templates_path: str | None


@section
class AdminApiSettings:
    enabled: bool
    base_path: str
    token_secret: str | None = dataclasses.field(repr=False)
    token_lifetime_seconds: int
    max_failed_logins: int
    lockout_seconds: int
    login_failures_per_address: int
    login_window_seconds: int
    failed_auth_audits_per_minute: int
    max_page_size: int
    max_body_bytes: int


@section
class DashboardSettings:
    enabled: bool
    path: str


@section
class WebhooksSettings:
    enabled: bool
    allowed_networks: tuple[str, ...]
    timeout_seconds: float
    max_attempts: int
    retry_delay_seconds: float
    retry_backoff_multiplier: float
    retry_max_delay_seconds: float
    batch_size: int
    delivery_interval_seconds: float


@section
class CrlSettings:
    enabled: bool
    path: str
    rebuild_interval_seconds: int
    next_update_seconds: int
    poll_seconds: float
    hash: str


@section
class OcspSettings:
    enabled: bool
    path: str
    response_validity_seconds: int
    signer: str
    responder_dir: str | None
    responder_validity_seconds: int
    responder_renew_before_seconds: int
    cache_seconds: int
    listen_for_revocations: bool
    cache_size: int
    nonce_enabled: bool
    nonce_signatures_per_second: float


@section
class RenewalInfoSettings:
    enabled: bool
    window_start: float
    window_end: float
    retry_after_seconds: int


@section
class DevSettings:
    enabled: bool


@section
class ProxySettings:
    enabled: bool
    trusted_proxies: tuple[str, ...]


@section
class RetentionSettings:
    enabled: bool
    interval_seconds: float
    orders_days: int
    authorizations_days: int
    notifications_days: int
    webhook_deliveries_days: int
    admin_tokens_days: int
    audit_days: int | None
    batch_size: int


@section
class Settings:
    """The whole configuration; `source_path` is the file it came from (None for a dict)."""

    server: ServerSettings
    database: DatabaseSettings
    acme: AcmeSettings
    challenges: ChallengesSettings
    caa: CaaSettings
    workers: WorkersSettings
    ca: CASettings
    lint: LintSettings
    security: SecuritySettings
    nonce: NonceSettings
    order: OrderSettings
    tos: TosSettings
    logging: LoggingSettings
    notifications: NotificationsSettings
    smtp: SmtpSettings
    retention: RetentionSettings
    admin_api: AdminApiSettings
    dashboard: DashboardSettings
    webhooks: WebhooksSettings
    crl: CrlSettings
    ocsp: OcspSettings
    renewal_info: RenewalInfoSettings
    metrics: MetricsSettings
    proxy: ProxySettings
    dev: DevSettings
    source_path: Path | None = None


# Attributes of Settings that are not schema keys.
NON_SCHEMA_FIELDS = frozenset({"source_path"})
