"""Short, secret-free descriptions for the terminal: config summary, database target, errors."""

from __future__ import annotations

import re

from acmeeh.config import Settings
from acmeeh.config.settings import DatabaseSettings
from acmeeh.logs import redact_text

_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<netloc>[^/?#]*)(?P<rest>.*)", re.DOTALL
)


def describe_database(database: DatabaseSettings) -> str:
    """user@host:port/dbname, or the URL with any password removed."""
    if database.url:
        m = _URL.match(database.url)
        if m is None:
            return redact_text(database.url)
        netloc = m.group("netloc")
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = userinfo.split(":", 1)[0] + "@" + hostport
        # redact_text also masks a ?password=... parameter.
        return redact_text(m.group("scheme") + netloc + m.group("rest"))
    return f"{database.user}@{database.host}:{database.port}/{database.database}"


def config_summary(settings: Settings) -> str:
    """The one line --validate-only prints on success."""
    return (
        f"config OK: {settings.source_path} (external_url={settings.server.external_url}, "
        f"database={describe_database(settings.database)}, "
        f"challenges={','.join(settings.challenges.enabled)})"
    )


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when empty), secrets masked."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return redact_text(line)
