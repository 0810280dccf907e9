"""admin_api settings: defaults, and the cross-field rules a JSON Schema cannot express."""
from __future__ import annotations

import pytest

from acmeeh.config import ConfigError, settings_from_dict

BASE = {"server": {"external_url": "https://acme.example.com"}}
SECRET = "s" * 32


def settings(admin_api: dict, acme: dict | None = None):
    return settings_from_dict({**BASE, "admin_api": admin_api, "acme": acme or {}})


def test_defaults() -> None:
    cfg = settings_from_dict(BASE).admin_api
    assert (cfg.enabled, cfg.base_path, cfg.token_secret, cfg.token_lifetime_seconds,
            cfg.max_failed_logins, cfg.lockout_seconds, cfg.max_page_size,
            cfg.max_body_bytes) == (False, "/api", None, 3600, 5, 900, 100, 65536)
    assert SECRET not in repr(settings({"enabled": True, "token_secret": SECRET}))


@pytest.mark.parametrize(("admin_api", "acme", "error"), [
    ({"enabled": True}, None, "admin_api.token_secret: is required"),
    ({"enabled": True, "token_secret": "x" * 31}, None, "admin_api.token_secret: must be at least"),
    ({"enabled": True, "token_secret": "é" * 15}, None, "admin_api.token_secret: must be at least"),
    ({"enabled": True, "token_secret": SECRET, "base_path": "/acme"}, None, "overlaps"),
    ({"enabled": True, "token_secret": SECRET, "base_path": "/acme/admin"}, None, "overlaps"),
    ({"enabled": True, "token_secret": SECRET, "base_path": "/x"}, {"path_prefix": "/x/acme"},
     "overlaps"),
    ({"enabled": True, "token_secret": SECRET, "base_path": "api"}, None, "admin_api.base_path"),
    ({"token_lifetime_seconds": 10}, None, "admin_api.token_lifetime_seconds"),
    ({"max_page_size": 0}, None, "admin_api.max_page_size"),
    ({"pepper": "x"}, None, "admin_api"),
], ids=["no-secret", "short-secret", "short-in-bytes", "same-path", "under-acme", "acme-under",
        "relative-path", "short-lifetime", "page-size-0", "unknown-key"])
def test_bad_settings(admin_api: dict, acme: dict | None, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(admin_api, acme)
    assert any(error in e for e in caught.value.errors), caught.value.errors


@pytest.mark.parametrize(("admin_api", "acme"), [
    ({"enabled": False, "base_path": "/acme"}, None),  # checked only when enabled
    ({"enabled": True, "token_secret": SECRET, "base_path": "/acmeadmin"}, None),
    ({"enabled": True, "token_secret": SECRET}, {"path_prefix": ""}),
    ({"enabled": True, "token_secret": "é" * 16}, None),  # 32 bytes in UTF-8
])
def test_good_settings(admin_api: dict, acme: dict | None) -> None:
    assert settings(admin_api, acme).admin_api.enabled == admin_api["enabled"]
