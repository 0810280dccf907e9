"""settings_from_dict / load_settings: defaults, ${VAR} substitution, error format, files."""

from __future__ import annotations

import copy
import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from acmeeh.config import ConfigError, Settings, load_settings, settings_from_dict
from acmeeh.config.load import load_schema
from acmeeh.config.settings import NON_SCHEMA_FIELDS

MINIMAL = {"server": {"external_url": "https://acme.example.com"}}


def with_(patch: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Deep-merge `patch` into a copy of `base` (MINIMAL by default)."""
    out = copy.deepcopy(MINIMAL if base is None else base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = with_(value, out[key])
        else:
            out[key] = value
    return out


def errors_of(data: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(data, environ=environ or {})
    return info.value.errors


def _leaf_defaults(
    schema: dict[str, Any], path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for key, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object":
            out += _leaf_defaults(sub, (*path, key))
        elif "default" in sub:
            out.append(((*path, key), sub["default"]))
    return out


@pytest.mark.parametrize(
    ("path", "default"),
    _leaf_defaults(load_schema()),
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else "",
)
def test_every_schema_default_is_filled(path: tuple[str, ...], default: Any) -> None:
    value: Any = settings_from_dict(MINIMAL, environ={})
    for part in path:
        value = getattr(value, part)
    assert value == (tuple(default) if isinstance(default, list) else default)
    if isinstance(default, list):
        assert isinstance(value, tuple)


def _mirror(cls: Any, schema: dict[str, Any], path: str) -> None:
    names = {f.name for f in dataclasses.fields(cls)} - NON_SCHEMA_FIELDS
    assert names == set(schema["properties"]), path
    hints = typing.get_type_hints(cls)
    for name, sub in schema["properties"].items():
        if isinstance(sub.get("additionalProperties"), dict):  # a map: a tuple of named entries
            (entry, _ellipsis) = typing.get_args(hints[name])
            assert dataclasses.is_dataclass(entry), f"{path}.{name}"
            entry_schema = dict(sub["additionalProperties"])
            entry_schema["properties"] = {"name": {}, **entry_schema["properties"]}
            _mirror(entry, entry_schema, f"{path}.{name}.<name>")
        elif sub.get("type") == "object":
            assert dataclasses.is_dataclass(hints[name]), f"{path}.{name}"
            _mirror(hints[name], sub, f"{path}.{name}")


def test_settings_classes_mirror_the_schema_exactly() -> None:
    _mirror(Settings, load_schema(), "(root)")


def test_settings_are_frozen_and_typed() -> None:
    settings = settings_from_dict(MINIMAL, environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server.port = 1  # type: ignore[misc]
    assert isinstance(settings.challenges.http01.timeout_seconds, float)
    assert settings.source_path is None
    assert settings.challenges.dns01.resolvers == ()


def test_secrets_stay_out_of_repr() -> None:
    settings = settings_from_dict(
        with_({"database": {"password": "hunter2"}, "ca": {"key_password": "s3cret"}}), environ={}
    )
    assert "hunter2" not in repr(settings) and "s3cret" not in repr(settings)
    assert settings.database.password == "hunter2"


def test_input_dict_is_not_modified() -> None:
    data = with_({"database": {"port": "${P:-1}"}})
    before = copy.deepcopy(data)
    settings_from_dict(data, environ={})
    assert data == before


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://acme.example.com/", "https://acme.example.com"),
        ("https://acme.example.com/pki//", "https://acme.example.com/pki"),
        ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),
        ("https://[::1]:8443/", "https://[::1]:8443"),
    ],
)
def test_external_url_is_stored_without_trailing_slash(url: str, stored: str) -> None:
    settings = settings_from_dict({"server": {"external_url": url}}, environ={})
    assert settings.server.external_url == stored


# --- ${VAR} substitution ---


@pytest.mark.parametrize(
    ("patch", "environ", "attribute", "expected"),
    [
        ({"database": {"port": "${DB_PORT:-5432}"}}, {}, "database.port", 5432),
        ({"database": {"port": "${DB_PORT:-5432}"}}, {"DB_PORT": "6543"}, "database.port", 6543),
        ({"database": {"port": "${DB_PORT}"}}, {"DB_PORT": "7000"}, "database.port", 7000),
        ({"database": {"host": "${DB_HOST:-localhost}"}}, {}, "database.host", "localhost"),
        (
            {"database": {"host": "${DB_HOST:-localhost}"}},
            {"DB_HOST": ""},
            "database.host",
            "localhost",
        ),
        (
            {"database": {"host": "db-${ENV}.internal"}},
            {"ENV": "prod"},
            "database.host",
            "db-prod.internal",
        ),
        ({"database": {"host": "${A}${B}"}}, {"A": "x", "B": "y"}, "database.host", "xy"),
        (
            {"database": {"password": "${DB_PASSWORD}"}},
            {"DB_PASSWORD": "12345"},
            "database.password",
            "12345",
        ),
        ({"database": {"password": "$${NOT_A_VAR}"}}, {}, "database.password", "${NOT_A_VAR}"),
        ({"database": {"password": "a$b$$c"}}, {}, "database.password", "a$b$$c"),
        ({"database": {"auto_setup": "${AUTO:-true}"}}, {}, "database.auto_setup", True),
        (
            {"challenges": {"http01": {"timeout_seconds": "${T:-2.5}"}}},
            {},
            "challenges.http01.timeout_seconds",
            2.5,
        ),
        ({"database": {"url": "${DATABASE_URL:-null}"}}, {}, "database.url", None),
        (
            {"challenges": {"dns01": {"resolvers": ["${NS:-127.0.0.1:53}"]}}},
            {},
            "challenges.dns01.resolvers",
            ("127.0.0.1:53",),
        ),
        (
            {"server": {"external_url": "${URL}"}},
            {"URL": "https://x.example/"},
            "server.external_url",
            "https://x.example",
        ),
    ],
)
def test_substitution(
    patch: dict[str, Any], environ: dict[str, str], attribute: str, expected: Any
) -> None:
    value: Any = settings_from_dict(with_(patch), environ=environ)
    for part in attribute.split("."):
        value = getattr(value, part)
    assert value == expected
    assert type(value) is type(expected)


def test_substitution_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACMEEH_TEST_DB_PORT", "5999")
    settings = settings_from_dict(with_({"database": {"port": "${ACMEEH_TEST_DB_PORT}"}}))
    assert settings.database.port == 5999


@pytest.mark.parametrize(
    ("patch", "environ", "expected"),
    [
        (
            {"database": {"password": "${DB_PASSWORD}"}},
            {},
            "database.password: environment variable DB_PASSWORD is not set",
        ),
        (
            {"database": {"port": "${DB_PORT:-abc}"}},
            {},
            "database.port: 'abc' is not of type 'integer'",
        ),
        (
            {"database": {"port": "${DB_PORT}"}},
            {"DB_PORT": "5.5"},
            "database.port: 5.5 is not of type 'integer'",
        ),
        (
            {"challenges": {"enabled": ["${C}"]}},
            {},
            "challenges.enabled[0]: environment variable C is not set",
        ),
        (
            {"database": {"host": "${1BAD}"}},
            {},
            "database.host: invalid variable reference '${1BAD}' (use ${NAME} or ${NAME:-default}; $${ for a literal)",
        ),
        (
            {"database": {"host": "x${OPEN"}},
            {},
            "database.host: invalid variable reference '${OPEN' (use ${NAME} or ${NAME:-default}; $${ for a literal)",
        ),
    ],
)
def test_substitution_errors(patch: dict[str, Any], environ: dict[str, str], expected: str) -> None:
    assert errors_of(with_(patch), environ) == [expected]


# --- schema errors ---


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_({"server": {"port": "abc"}}), ["server.port: 'abc' is not of type 'integer'"]),
        (with_({"server": {"port": 0}}), ["server.port: 0 is less than the minimum of 1"]),
        (with_({"server": {"port": True}}), ["server.port: True is not of type 'integer'"]),
        (
            with_({"server": {"worker_class": "eventlet"}}),
            ["server.worker_class: 'eventlet' is not one of ['sync', 'gthread']"],
        ),
        (
            with_({"challenges": {"enabled": ["http-01", "smtp-01"]}}),
            ["challenges.enabled[1]: 'smtp-01' is not one of ['http-01', 'dns-01', 'tls-alpn-01']"],
        ),
        (with_({"challenges": {"enabled": []}}), ["challenges.enabled: [] should be non-empty"]),
        (with_({"database": None}), ["database: None is not of type 'object'"]),
        ({}, ["(root): 'server' is a required property"]),
        ({"server": {}}, ["server: 'external_url' is a required property"]),
        (with_({"bogus": 1}), ["bogus: unknown key"]),
        (with_({"server": {"prot": 1}}), ["server.prot: unknown key (did you mean 'port'?)"]),
        (
            with_({"challenges": {"http01": {"timeout": 3}}}),
            ["challenges.http01.timeout: unknown key (did you mean 'timeout_seconds'?)"],
        ),
    ],
)
def test_schema_errors(data: dict[str, Any], expected: list[str]) -> None:
    assert errors_of(data) == expected


def test_all_errors_are_reported_sorted_by_path() -> None:
    data = {
        "server": {"external_url": "https://x.example", "port": "abc", "workers": 0},
        "database": {"password": "${NOPE}", "sslmode": "maybe"},
        "ca": {"key": "/etc/acmeeh/key.pem"},
        "logging": {"level": "LOUD"},
        "extra": {},
    }
    errors = errors_of(data)
    assert errors == [
        "ca.key: is set but ca.certificate is not",
        "database.password: environment variable NOPE is not set",
        "database.sslmode: 'maybe' is not one of ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']",
        "extra: unknown key",
        "logging.level: 'LOUD' is not one of ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']",
        "server.port: 'abc' is not of type 'integer'",
        "server.workers: 0 is less than the minimum of 1",
    ]


def test_config_error_str_joins_lines() -> None:
    error = ConfigError(["a: one", "b: two"])
    assert str(error) == "a: one\nb: two"
    assert error.errors == ["a: one", "b: two"]


# --- files ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["(root): 'server' is a required property"]),
        ("# only a comment\n", ["(root): 'server' is a required property"]),
        ("- a\n- b\n", ["(root): the configuration must be a mapping, not list"]),
        ("just text\n", ["(root): the configuration must be a mapping, not str"]),
    ],
)
def test_file_shapes(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.errors == expected


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("server: {external_url: [\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    (error,) = info.value.errors
    assert error.startswith(f"{path}: invalid YAML: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.yaml")
    assert info.value.errors == [f"{tmp_path / 'nope.yaml'}: configuration file not found"]


def test_load_settings_reads_yaml_substitutes_and_records_the_path(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "server": {"external_url": "https://acme.example.com/", "port": "${PORT:-9443}"},
                "database": {"password": "${DB_PASSWORD}"},
            }
        )
    )
    settings = load_settings(str(path), environ={"DB_PASSWORD": "pw"})
    assert settings.source_path == path
    assert settings.server.port == 9443
    assert settings.server.external_url == "https://acme.example.com"
    assert settings.database.password == "pw"


def test_unquoted_yaml_substitution_in_a_file(tmp_path: Path) -> None:
    # As the deployment guide writes it: unquoted ${...} in block style.
    path = tmp_path / "config.yaml"
    path.write_text(
        "server:\n  external_url: https://acme.example.com\n"
        "database:\n  password: ${DB_PASSWORD}\n  host: ${DB_HOST:-localhost}\n  port: ${DB_PORT:-5432}\n"
    )
    settings = load_settings(path, environ={"DB_PASSWORD": "secret"})
    assert (settings.database.password, settings.database.host, settings.database.port) == (
        "secret",
        "localhost",
        5432,
    )
