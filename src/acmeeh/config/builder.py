"""Turn a validated, default-filled dict into the frozen dataclasses of settings.py."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from acmeeh.config.settings import NON_SCHEMA_FIELDS

T = TypeVar("T")


def build(cls: type[T], data: dict[str, Any], **extra: Any) -> T:
    """Instantiate dataclass `cls` from a validated, default-filled dict (recursively).

    Raises KeyError/TypeError only if `data` does not match the schema, which validation
    has already guaranteed.
    """
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = dict(extra)
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in NON_SCHEMA_FIELDS or field.name in extra:
            continue
        kwargs[field.name] = _convert(hints[field.name], data[field.name])
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return build(hint, value)
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        if isinstance(value, dict):  # a map of named entries (ca.profiles): each gets its key as name
            return tuple(build(item_hint, v, name=k) for k, v in value.items())
        return tuple(_convert(item_hint, v) for v in value)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner, value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float):
        # JSON Schema counts 1.0 as an integer; keep the Python type honest.
        return int(value)
    return value
