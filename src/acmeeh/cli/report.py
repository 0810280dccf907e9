"""Short, secret-free descriptions for the terminal: config summary, database target, errors."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from acmeeh.config import Settings
from acmeeh.config.settings import DatabaseSettings
from acmeeh.logs import redact_text


def describe_database(database: DatabaseSettings) -> str:
    """user@host:port/dbname, or the URL with any password removed."""
    if database.url:
        parts = urlsplit(database.url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = userinfo.split(":", 1)[0] + "@" + hostport
        return urlunsplit(parts._replace(netloc=netloc))
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
