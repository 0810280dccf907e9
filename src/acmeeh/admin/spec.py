"""The OpenAPI 3.1 document of the admin API (openapi.yaml beside this file).

It is the single description of the API: served at {base_path}/openapi.json and used to
validate every request body, so the document and the checks cannot drift apart.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..config.load import packaged_yaml
from . import problems

_URI = "urn:acmeeh:admin:openapi"


def load_document() -> dict[str, Any]:
    return packaged_yaml("acmeeh.admin", "openapi.yaml")


@dataclass
class Spec:
    """The loaded document and one validator per component schema (built on first use)."""

    doc: dict[str, Any]
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Spec:
        return cls(load_document())

    def served(self, server_url: str, max_page_size: int) -> dict[str, Any]:
        """The document as served: this deployment's URL and page size limit filled in."""
        doc = copy.deepcopy(self.doc)
        doc["servers"] = [{"url": server_url, "description": "this server"}]
        doc["components"]["parameters"]["Limit"]["schema"]["maximum"] = max_page_size
        return doc

    def _validator(self, name: str) -> Draft202012Validator:
        if name not in self._validators:
            resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
            registry: Registry = Registry().with_resource(_URI, resource)
            schema = {"$ref": f"{_URI}#/components/schemas/{name}"}
            self._validators[name] = Draft202012Validator(schema, registry=registry)
        return self._validators[name]

    def check(self, name: str, data: Any) -> None:
        """400 listing each violation of components.schemas[name] (at most 10)."""
        errors = sorted(self._validator(name).iter_errors(data), key=lambda e: list(e.path))
        if not errors:
            return
        listed = [{"path": "/" + "/".join(str(p) for p in e.path), "message": _message(e)}
                  for e in errors[:10]]
        raise problems.bad_request("the request body does not match the schema", listed)


def _message(error: Any) -> str:
    """A message that does not echo long values back."""
    if error.validator == "additionalProperties":
        return "unknown field(s): " + ", ".join(sorted(
            str(k) for k in error.instance if k not in error.schema.get("properties", {})))[:200]
    if error.validator in ("type", "enum", "minLength", "maxLength", "pattern",
                           "minimum", "maximum", "minProperties"):
        return f"{error.validator}: {_short(error.validator_value)}"
    return error.message[:200]


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."
