"""The webhook event names are spelled in three places (the authority that emits them, the
OpenAPI enum that validates subscriptions, the CLI's --event choices); they must be the same
seven names, in the same order."""
from __future__ import annotations

from pathlib import Path

import yaml

from acmeeh.authority.webhooks import EVENTS as EMITTED
from acmeeh.cli.admin.cmd_webhooks import EVENTS as CLI_CHOICES

OPENAPI = Path(__file__).resolve().parents[3] / "src" / "acmeeh" / "admin" / "openapi.yaml"
NAMED = ("certificate.issued", "certificate.revoked", "certificate.expiring", "order.invalid",
         "account.created", "account.deactivated", "maintenance.changed")


def test_event_names_agree_everywhere() -> None:
    schema = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]["WebhookEvent"]
    assert tuple(EMITTED) == NAMED
    assert tuple(CLI_CHOICES) == NAMED
    assert tuple(schema["enum"]) == NAMED
