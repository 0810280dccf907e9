"""Jinja2 templates of the notification emails: shipped ones, optionally overridden by files in
`smtp.templates_path`.

Each kind has `<kind>.txt.j2` defining two blocks, `subject` and `body`; an optional
`<kind>.html.j2` with a `body` block adds an HTML alternative (autoescaped). Undefined
variables raise (StrictUndefined) instead of silently rendering as empty text.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import jinja2

TEXT_SUFFIX = ".txt.j2"
HTML_SUFFIX = ".html.j2"


class Kind(StrEnum):
    """What happened; each kind has its own template."""

    CERTIFICATE_ISSUED = "certificate_issued"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_REVOKED_BY_ADMIN = "certificate_revoked_by_admin"
    EXPIRATION_WARNING = "expiration_warning"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ACCOUNT_KEY_CHANGED = "account_key_changed"
    ORDER_FAILED = "order_failed"
    EAB_KEY_USED = "eab_key_used"


class TemplateError(Exception):
    """A template is missing, malformed or needs a variable the context lacks."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None = None


def format_datetime(value: Any) -> str:
    """The `datetime` filter: an ISO 8601 string or datetime → "2026-12-23 10:00:00 UTC"."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment(override_path: str | os.PathLike[str] | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override_path:
        loaders.append(jinja2.FileSystemLoader(os.fspath(override_path)))
    loaders.append(jinja2.PackageLoader("acmeeh.notify", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # Only HTML is escaped: plain-text mail must show names exactly as issued.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "html.j2"), default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["datetime"] = format_datetime
    return env


def _block(template: jinja2.Template, name: str, context: Mapping[str, Any]) -> str:
    if name not in template.blocks:
        raise TemplateError(f"{template.name}: no {{% block {name} %}}")
    return "".join(template.blocks[name](template.new_context(dict(context))))


class Templates:
    """Render (kind, context) → Rendered. Overrides in `override_path` win file by file."""

    def __init__(self, override_path: str | os.PathLike[str] | None = None) -> None:
        if override_path and not os.path.isdir(override_path):
            raise TemplateError(f"smtp.templates_path: {override_path} is not a directory")
        self._env = _environment(override_path)

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        """Raises TemplateError (unknown kind, missing block or variable, syntax error)."""
        if kind not in {k.value for k in Kind}:
            raise TemplateError(f"unknown notification kind {kind!r}")
        try:
            text_template = self._env.get_template(f"{kind}{TEXT_SUFFIX}")
            subject = " ".join(_block(text_template, "subject", context).split())
            text = _block(text_template, "body", context)
            html = self._html(kind, context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{kind}: {type(exc).__name__}: {exc}") from exc
        if not subject:
            raise TemplateError(f"{kind}: the subject block rendered empty")
        return Rendered(subject=subject, text=text, html=html)

    def _html(self, kind: str, context: Mapping[str, Any]) -> str | None:
        try:
            template = self._env.get_template(f"{kind}{HTML_SUFFIX}")
        except jinja2.TemplateNotFound:
            return None
        return _block(template, "body", context)

    def check(self) -> None:
        """Load every kind's text template (start-up / health check); raises TemplateError."""
        for kind in Kind:
            try:
                template = self._env.get_template(f"{kind}{TEXT_SUFFIX}")
            except jinja2.TemplateError as exc:
                raise TemplateError(f"{kind}: {type(exc).__name__}: {exc}") from exc
            for block in ("subject", "body"):
                if block not in template.blocks:
                    raise TemplateError(f"{template.name}: no {{% block {block} %}}")
