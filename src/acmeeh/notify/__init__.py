"""Notify: render notification emails from Jinja2 templates and send them over SMTP (no DB).

The outbox rows that feed it are written by `acmeeh.authority.notifications` and delivered by
`acmeeh.workers.delivery`; this room only turns (kind, context) into a message and sends it.
"""
from .mailer import Mailer, MailError, build_message
from .templates import Kind, Rendered, TemplateError, Templates

__all__ = ["Kind", "MailError", "Mailer", "Rendered", "TemplateError", "Templates", "build_message"]
