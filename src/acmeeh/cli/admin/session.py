"""The login session of the admin CLI: API URL, bearer token, user and expiry in one JSON file.

The file is written 0600 (its folder 0700) and refused when anyone but its owner could read
it (fail closed). Default: $ACMEEH_ADMIN_SESSION, else $XDG_CONFIG_HOME/acmeeh/admin-session.json
(~/.config/... without XDG_CONFIG_HOME); --session overrides both.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .client import EXIT_AUTH, CliError

FILE_NAME = "admin-session.json"


@dataclass(frozen=True)
class Session:
    url: str
    token: str
    username: str
    expires_at: str  # RFC 3339, as the API sent it

    def expired(self, now: datetime | None = None) -> bool:
        try:
            when = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        except ValueError:
            return False  # the server decides
        return when <= (now or datetime.now(UTC))


def default_path() -> Path:
    explicit = os.environ.get("ACMEEH_ADMIN_SESSION")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "acmeeh" / FILE_NAME


def save(path: Path, session: Session) -> None:
    """Write atomically with mode 0600 (never readable by others, not even for a moment)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            json.dump(asdict(session), handle)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def load(path: Path) -> Session | None:
    """The saved session, None when there is none. CliError when the file is readable by
    group or others, not owned by this user, or unreadable."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"session file {path}: {exc.strerror}", EXIT_AUTH) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CliError(f"session file {path} is accessible by others (mode "
                       f"{stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}` or log in "
                       f"again", EXIT_AUTH)
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise CliError(f"session file {path} belongs to another user", EXIT_AUTH)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Session(url=str(data["url"]), token=str(data["token"]),
                       username=str(data.get("username", "")),
                       expires_at=str(data.get("expires_at", "")))
    except (OSError, ValueError, KeyError, TypeError):
        raise CliError(f"session file {path} is unreadable; log in again", EXIT_AUTH) from None


def remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
