"""Which CA backend `ca.backend` names, and building it.

The built-in backends and third-party ones are found the same way: as entry points
("module:function") of the group `acmeeh.ca_backends`, each naming a `BackendFactory`. The
built-in ones are listed here rather than read from the installed metadata, so a source
checkout works uninstalled, and they are imported only when chosen: `pkcs11` needs the
`hsm` extra (python-pkcs11), `acme_upstream` the `upstream` extra (acme), and a server that
signs with a file needs neither.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Protocol, cast

from acmeeh.config.settings import CASettings
from acmeeh.issuance.backend import BackendContext, CABackend, CAError
from acmeeh.issuance.local import Clock, utc_now

ENTRY_POINT_GROUP = "acmeeh.ca_backends"

BUILTIN: dict[str, str] = {
    "file": "acmeeh.issuance.backends.file:load",
    "pkcs11": "acmeeh.issuance.backends.pkcs11:load",
    "acme_upstream": "acmeeh.issuance.backends.acme_upstream:load",
}

# What to install when a built-in backend's library is missing.
EXTRAS = {"pkcs11": "hsm", "acme_upstream": "upstream"}


class BackendFactory(Protocol):
    """What an entry point of the group `acmeeh.ca_backends` names: build a ready, checked
    backend from settings.ca (a third-party backend reads its own settings from `ca.options`).
    It raises CAError naming the setting when the configuration or the CA material is wrong."""

    def __call__(self, ca: CASettings, context: BackendContext) -> CABackend: ...


def available() -> dict[str, EntryPoint]:
    """Every backend name with its entry point: the built-in ones, then those installed.

    A third-party distribution cannot take a built-in name (CAError), so installing a package
    never changes what `file` means.
    """
    found = {name: EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in BUILTIN.items()}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in BUILTIN and point.value != BUILTIN[point.name]:
            raise CAError(
                f"ca.backend: the installed entry point {point.name} = {point.value} "
                f"(group {ENTRY_POINT_GROUP}) takes the name of a built-in backend"
            )
        found.setdefault(point.name, point)
    return found


def factory(name: str) -> BackendFactory:
    """The factory `ca.backend` names; CAError for an unknown name or one that cannot load."""
    points = available()
    point = points.get(name)
    if point is None:
        known = ", ".join(sorted(points))
        raise CAError(f"ca.backend: no backend named {name!r} (available: {known})")
    try:
        loaded = point.load()
    except (ImportError, AttributeError) as exc:
        extra = EXTRAS.get(name)
        hint = f"; install it with pip install 'acmeeh[{extra}]'" if extra else ""
        raise CAError(f"ca.backend {name}: {point.value} cannot be imported: {exc}{hint}") from None
    if not callable(loaded):
        raise CAError(f"ca.backend {name}: {point.value} is not callable")
    return cast("BackendFactory", loaded)  # its result is checked by load_backend


def load_backend(
    ca: CASettings,
    *,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    clock: Clock | None = None,
) -> CABackend:
    """Build and check the backend `ca.backend` names (a BackendFactory); CAError naming the
    setting, file, token or key when it cannot sign."""
    _check_options(ca)
    load = factory(ca.backend)
    backend = load(ca, BackendContext(crl_url=crl_url, ocsp_url=ocsp_url, clock=clock or utc_now))
    if not isinstance(backend, CABackend):
        raise CAError(f"ca.backend {ca.backend}: the factory returned "
                      f"{type(backend).__name__}, which is not a CABackend")
    return backend


def _check_options(ca: CASettings) -> None:
    """ca.options belong to third-party backends, once each."""
    names = [option.name for option in ca.options]
    if names and ca.backend in BUILTIN:
        raise CAError(f"ca.options: the built-in backend {ca.backend} takes no options "
                      f"(given: {', '.join(names)})")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CAError(f"ca.options: {', '.join(twice)} given more than once")
