"""The documentation set the README promises: every relative link in README.md and docs/ leads
to a file that exists, and the pages cover what an operator looks for."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from .containerkit import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.name} links to missing {target}"


@pytest.mark.parametrize(
    ("page", "phrases"),
    [
        ("installation.md", ["## pip", "## Container image", "## Docker Compose", "## systemd",
                             "## Kubernetes", "Not exercised"]),
        ("high-availability.md", ["pg_dump", "Restore drill", "Load balancer", "db migrate"]),
        ("security.md", ["gunicorn must not face an untrusted network directly", "admin API",
                         "metrics.auth_required", "0400 or 0600"]),
        ("troubleshooting.md", ["badNonce", "rejectedIdentifier", "database not reachable"]),
        ("migration.md", ["config migrate"]),
        ("configuration.md", ["config-reference:start"]),
        ("backends.md", ["## `pkcs11`", "softhsm2-util --init-token", "acmeeh.ca_backends",
                         "ca test-sign"]),
    ],
)
def test_pages_cover_their_subject(page: str, phrases: list[str]) -> None:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    for phrase in phrases:
        assert phrase in text, f"{page} lacks {phrase!r}"
    assert f"(docs/{page})" in (ROOT / "README.md").read_text(encoding="utf-8")
