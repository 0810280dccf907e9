"""One YAML file → ${VAR} substitution → schema + defaults → cross-field checks → Settings.

Every problem found is collected and reported together as "key.path: message", sorted by
path, so an operator fixes a configuration in one pass.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema import validators

from acmeeh.config.builder import build
from acmeeh.config.checks import cross_field_errors
from acmeeh.config.paths import ROOT, format_path
from acmeeh.config.settings import Settings

# $${ is a literal "${"; ${NAME} is required; ${NAME:-default} falls back when unset or empty.
_TOKEN = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)


class ConfigError(Exception):
    """The configuration is unusable; `errors` holds every "key.path: message" found."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


def packaged_yaml(package: str, name: str) -> dict[str, Any]:
    """The YAML mapping in file `name` shipped in `package`; TypeError when it is not one."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise TypeError(f"{package.replace('.', '/')}/{name} is not a mapping")
    return doc


@functools.cache
def load_schema() -> dict[str, Any]:
    """The parsed schema.yaml shipped in this package (read once; callers must not mutate it)."""
    return packaged_yaml("acmeeh.config", "schema.yaml")


def load_settings(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read, substitute, validate and freeze the YAML file at `path`. Raises ConfigError."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{source}: configuration file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{source}: cannot read configuration file: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError([f"{source}: invalid YAML: {detail}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [f"{ROOT}: the configuration must be a mapping, not {type(data).__name__}"]
        )
    return settings_from_dict(data, environ=environ, source_path=source)


def settings_from_dict(
    data: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    source_path: str | os.PathLike[str] | None = None,
) -> Settings:
    """Validate a plain dict (as YAML would give it) and return Settings. Raises ConfigError.

    `data` is not modified. `environ` defaults to os.environ.
    """
    env = os.environ if environ is None else environ
    errors: list[tuple[str, str]] = []
    doc = substitute(copy.deepcopy(dict(data)), env, errors, (), load_schema())
    # A value whose substitution failed is meaningless: report only the substitution error.
    failed = {p for p, _ in errors}
    errors.extend(e for e in _schema_errors(doc) if e[0] not in failed)
    errors.extend(e for e in cross_field_errors(doc) if e[0] not in failed)
    if errors:
        raise ConfigError([f"{p}: {m}" for p, m in sorted(set(errors))])
    return build(Settings, doc, source_path=Path(source_path) if source_path is not None else None)


# --- ${VAR} substitution (before validation, so substituted values are validated too) ---


def substitute(
    node: Any,
    env: Mapping[str, str],
    errors: list[tuple[str, str]],
    path: tuple[Any, ...] = (),
    schema: Any = None,
) -> Any:
    """Return `node` with every string scalar substituted; problems are appended to `errors`.

    `schema` is the subschema for `node` (None when unknown); it decides whether a whole-scalar
    substitution is re-read as a YAML number/bool/null.
    """
    if isinstance(node, dict):
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return {k: substitute(v, env, errors, (*path, k), props.get(k)) for k, v in node.items()}
    if isinstance(node, list):
        items = schema.get("items") if isinstance(schema, dict) else None
        return [substitute(v, env, errors, (*path, i), items) for i, v in enumerate(node)]
    if not isinstance(node, str) or "$" not in node:
        return node
    out: list[str] = []
    pos = 0
    refs = 0
    for m in _TOKEN.finditer(node):
        out.append(node[pos : m.start()])
        pos = m.end()
        if m.group(0) == "$${":
            out.append("${")
            continue
        refs += 1
        value = _resolve(m.group("body"), env, node[m.start() : m.start() + 40])
        if isinstance(value, str):
            out.append(value)
        else:
            errors.append((format_path(path), value[0]))
    out.append(node[pos:])
    text = "".join(out)
    whole = _TOKEN.fullmatch(node)
    if refs == 1 and whole is not None and whole.group("body") is not None:
        return _reparse_scalar(text, schema)
    return text


def _resolve(body: str | None, env: Mapping[str, str], shown: str) -> str | tuple[str]:
    """The text for one ${...}; a 1-tuple holding the message on error."""
    m = _BODY.fullmatch(body) if body is not None else None
    if m is None:
        if body is not None:
            shown = "${" + body + "}"
        hint = "(use ${NAME} or ${NAME:-default}; $${ for a literal)"
        return (f"invalid variable reference {shown!r} {hint}",)
    name, default = m.group("name"), m.group("default")
    value = env.get(name)
    if default is not None:
        return value if value else default
    if value is None:
        return (f"environment variable {name} is not set",)
    return value


def _reparse_scalar(text: str, schema: Any) -> Any:
    """`port: ${DB_PORT:-5432}` must become the int 5432: read the text as a YAML scalar.

    Only bool, int, float and null are taken from YAML, and a number or bool only where the
    schema does not accept a string (a password "12345" stays a string); otherwise the text.
    """
    if text == "":
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    allowed = schema.get("type") if isinstance(schema, dict) else None
    allowed = {allowed} if isinstance(allowed, str) else set(allowed or ())
    if value is None:
        return None if not allowed or "null" in allowed else text
    if isinstance(value, (bool, int, float)) and "string" not in allowed:
        return value
    return text


# --- JSON Schema validation that fills defaults ---


def _extend_with_default(base: Any) -> Any:
    """Fill each property's `default` before validating it, so nested `default: {}` objects
    get their own defaults as validation descends into them."""
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(
        validator: Any, properties: dict[str, Any], instance: Any, schema: dict[str, Any]
    ) -> Iterator[Any]:
        if validator.is_type(instance, "object"):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(base, {"properties": set_defaults})


def _schema_errors(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    schema = load_schema()
    validator = _extend_with_default(jsonschema.Draft202012Validator)(schema)
    for error in validator.iter_errors(doc):
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            yield from _unknown_keys(error)
            continue
        yield format_path(error.absolute_path), error.message


def _unknown_keys(error: Any) -> Iterator[tuple[str, str]]:
    known = list(error.schema.get("properties", {}))
    for key in error.instance:
        if key in known:
            continue
        hint = difflib.get_close_matches(str(key), known, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
        yield format_path((*error.absolute_path, key)), f"unknown key{suffix}"
