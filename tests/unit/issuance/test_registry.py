"""issuance.registry: `ca.backend` picks a built-in backend or one installed under the entry-point
group `acmeeh.ca_backends`. Third-party backends are real distributions (a dist-info with an
entry_points.txt, on sys.path), found by importlib.metadata as pip-installed ones are."""

from __future__ import annotations

from pathlib import Path

import pytest

from acmeeh.config.load import settings_from_dict
from acmeeh.issuance import CABackend
from acmeeh.issuance.backend import CAError
from acmeeh.issuance.local import LocalCA
from acmeeh.issuance.registry import ENTRY_POINT_GROUP, available, load_backend

from .pki import PKI

# A third-party backend: the file backend with a subject check taken from ca.options.
PLUGIN = '''
from acmeeh.issuance.backends.file import load as load_file


class Labelled:
    def __init__(self, inner, label):
        self._inner, self.label = inner, label

    def __getattr__(self, name):
        return getattr(self._inner, name)

    issuer_certificate = property(lambda self: self._inner.issuer_certificate)
    chain_pem = property(lambda self: self._inner.chain_pem)

    def plan(self, profile):
        return self._inner.plan(profile)

    def sign(self, csr, identifiers, *, profile, plan=None):
        return self._inner.sign(csr, identifiers, profile=profile, plan=plan)

    def check(self):
        self._inner.check()

    def revoked(self, certificate_der, reason, when):
        pass

    def health(self):
        return {"backend": "labelled", "label": self.label}

    def status_signer(self, hash_name):
        return self._inner.status_signer(hash_name)


def load(ca, context):
    return Labelled(load_file(ca, context), {o.name: o.value for o in ca.options}["label"])


def not_a_backend(ca, context):
    return object()
'''


def install(root: Path, name: str, entry_points: str, module: str | None = None) -> Path:
    """A minimal installed distribution under `root`: METADATA, entry_points.txt, a module."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n")
    if module is not None:
        (root / f"{name}.py").write_text(module)
    return root


def settings(pki: PKI, **ca: object):
    doc = {"server": {"external_url": "https://acme.test"},
           "ca": {"certificate": str(pki.cert_path), "key": str(pki.key_path), **ca}}
    return settings_from_dict(doc).ca


def test_file_is_the_default_and_reports_its_name(pki: PKI) -> None:
    backend = load_backend(settings(pki))
    assert isinstance(backend, LocalCA) and isinstance(backend, CABackend)
    assert backend.health() == {"backend": "file"}


def test_the_built_in_names_are_available() -> None:
    assert {"file", "pkcs11", "acme_upstream"} <= set(available())


def test_an_unknown_name_lists_the_available_ones(pki: PKI) -> None:
    with pytest.raises(CAError, match=r"ca.backend: no backend named 'vault' \(available: .*file"):
        load_backend(settings(pki, backend="vault"))


def test_an_installed_entry_point_is_loaded_with_its_options(
    pki: PKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(install(
        tmp_path / "site", "acmeeh_labelled", "labelled = acmeeh_labelled:load", PLUGIN)))
    assert available()["labelled"].value == "acmeeh_labelled:load"
    options = [{"name": "label", "value": "plant 7"}]
    backend = load_backend(settings(pki, backend="labelled", options=options))
    assert isinstance(backend, CABackend)
    assert backend.health() == {"backend": "labelled", "label": "plant 7"}
    assert backend.issuer_certificate == pki.cert


@pytest.mark.parametrize(("backend", "options", "message"), [
    ("file", [{"name": "label", "value": "x"}], "the built-in backend file takes no options"),
    ("other", [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}], "a given more than once"),
])
def test_options_are_for_third_party_backends_once_each(pki: PKI, backend: str, options: list,
                                                         message: str) -> None:
    with pytest.raises(CAError, match=f"ca.options: {message}"):
        load_backend(settings(pki, backend=backend, options=options))


@pytest.mark.parametrize(("entry", "module", "message"), [
    ("file = acmeeh_evil1:load", PLUGIN, "takes the name of a built-in backend"),
    ("odd = acmeeh_evil2:not_a_backend", PLUGIN, "returned object, which is not a CABackend"),
    ("gone = acmeeh_missing_module:load", None, "acmeeh_missing_module:load cannot be imported"),
    ("nameless = acmeeh_evil3:nowhere", PLUGIN, "acmeeh_evil3:nowhere cannot be imported"),
    ("flat = acmeeh_evil4:TEXT", PLUGIN + "\nTEXT = 'x'\n", "is not callable"),
])
def test_a_bad_entry_point_is_a_ca_error(
    pki: PKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, module: str | None,
    message: str,
) -> None:
    dist = entry.split(" = ")[1].split(":")[0]
    monkeypatch.syspath_prepend(str(install(tmp_path / "site", dist, entry, module)))
    name = entry.split(" = ")[0]
    with pytest.raises(CAError, match=message):
        load_backend(settings(pki, backend=name))
