"""Where the dashboard is served (in-process, create_app on a real database): at dashboard.path
when the admin API is on, nowhere when the API is off or dashboard.enabled is false; a path
that overlaps the admin API or the ACME prefix is a configuration error."""
from __future__ import annotations

import pytest
from integration.admin.admin_support import admin_overrides

from acmeeh.config import ConfigError, settings_from_dict


@pytest.mark.parametrize(("overrides", "served", "absent"), [
    (admin_overrides(), "/admin", "/console"),
    ({**admin_overrides(), "dashboard": {"path": "/ops/console"}}, "/ops/console", "/admin"),
    ({**admin_overrides(), "dashboard": {"enabled": False}}, None, "/admin"),
    ({"admin_api": {"enabled": False}, "dashboard": {"path": "/console"}}, None, "/console"),
], ids=["default", "own-path", "dashboard-off", "admin-api-off"])
def test_served_only_where_configured(make_app, overrides: dict, served: str | None,
                                      absent: str) -> None:
    http = make_app(overrides).test_client()
    assert http.get(f"{absent}/login").status_code == 404
    if served is None:
        return
    login = http.get(f"{served}/login")
    assert login.status_code == 200 and b'name="csrf"' in login.data
    assert f'href="{served}/static/dashboard.css"'.encode() in login.data
    assert http.get(f"{served}/static/dashboard.css").status_code == 200
    to_login = http.get(f"{served}/")
    assert to_login.status_code == 302 and to_login.headers["Location"].endswith(
        f"{served}/login")


@pytest.mark.parametrize(("dashboard", "other"), [
    ({"path": "/api"}, {}),
    ({"path": "/api/ui"}, {}),
    ({"path": "/acme"}, {}),
    ({"path": "/x"}, {"acme": {"path_prefix": "/x/acme"}}),
], ids=["same-as-api", "under-api", "same-as-acme", "acme-under-it"])
def test_overlapping_paths_are_refused(dashboard: dict, other: dict) -> None:
    doc = {"server": {"external_url": "https://acme.example.com"}, **admin_overrides(),
           "dashboard": dashboard, **other}
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(doc)
    assert any(e.startswith("dashboard.path") and "overlaps" in e
               for e in caught.value.errors), caught.value.errors
