"""The schema is well formed, and docs/configuration.md's reference matches the generated one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from acmeeh.config import reference
from acmeeh.config.load import load_schema

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "configuration.md"
# Keywords the schema may use; anything else is usually a YAML slip, such as an unquoted comma
# in a flow-style description turning the rest of the sentence into a key.
KEYWORDS = {
    "$schema",
    "type",
    "description",
    "default",
    "properties",
    "additionalProperties",
    "required",
    "items",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minLength",
    "pattern",
    "uniqueItems",
    "minItems",
}


def _subschemas(schema: dict[str, Any], path: str = "(root)") -> list[tuple[str, dict[str, Any]]]:
    out = [(path, schema)]
    for key, sub in schema.get("properties", {}).items():
        out += _subschemas(sub, key if path == "(root)" else f"{path}.{key}")
    if isinstance(schema.get("additionalProperties"), dict):  # a map's entries (ca.profiles)
        out += _subschemas(schema["additionalProperties"], f"{path}.{reference.MAP_KEY}")
    if isinstance(schema.get("items"), dict):
        out += _subschemas(schema["items"], f"{path}[]")
    return out


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema())


@pytest.mark.parametrize(
    ("path", "sub"), _subschemas(load_schema()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_schema_uses_only_known_keywords(path: str, sub: dict[str, Any]) -> None:
    assert set(sub) <= KEYWORDS, f"{path}: unexpected keys {set(sub) - KEYWORDS}"


@pytest.mark.parametrize(
    ("path", "sub"),
    [(p, s) for p, s in _subschemas(load_schema()) if p != "(root)" and not p.endswith("[]")],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_key_is_described_and_objects_are_closed(path: str, sub: dict[str, Any]) -> None:
    assert sub.get("description"), f"{path} has no description"
    if sub.get("type") == "object":
        entry = sub.get("additionalProperties")
        if isinstance(entry, dict):  # a map: its entries are closed objects
            assert entry.get("type") == "object" and entry.get("additionalProperties") is False
            assert "properties" not in sub, f"{path}: a map has no fixed keys"
        else:
            assert entry is False, f"{path} must refuse unknown keys"


def test_reference_lists_every_key_with_its_default() -> None:
    text = reference.generate()
    for path, sub in _subschemas(load_schema()):
        if path == "(root)" or path.endswith("[]"):
            continue
        if sub.get("type") == "object" and isinstance(sub.get("additionalProperties"), dict):
            assert f"| `{path}` | map of" in text
        elif sub.get("type") == "object":
            assert f"### `{path}`" in text
        else:
            assert f"| `{path}` |" in text
    assert "| `server.port` | integer (1–65535) | `8443` | Port gunicorn listens on. |" in text
    assert "| `server.external_url` | string (non-empty) | *required* |" in text
    assert "### `server` (required)" in text


def test_reference_escapes_pipes() -> None:
    schema = {
        "properties": {
            "s": {
                "type": "object",
                "properties": {"k": {"type": "string", "default": "a|b", "description": "x | y"}},
            }
        }
    }
    text = reference.generate(schema)
    assert '| `s.k` | string | `"a\\|b"` | x \\| y |' in text


def test_block_helpers_round_trip() -> None:
    text = f"# Title\n\n{reference.START}\nold\n{reference.END}\n\ntail\n"
    assert reference.extract_block(text) == "old"
    updated = reference.replace_block(text, "new text\n")
    assert reference.extract_block(updated) == "new text"
    assert updated.startswith("# Title") and updated.endswith("tail\n")
    assert reference.extract_block("no markers") is None
    with pytest.raises(ValueError):
        reference.replace_block("no markers", "x")


def test_module_prints_the_reference() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "acmeeh.config.reference"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == reference.generate()


def test_check_and_update_flags(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{reference.START}\nstale\n{reference.END}\n")
    assert reference.main(["--check", str(readme)]) == 1
    assert reference.main(["--update", str(readme)]) == 0
    assert reference.main(["--check", str(readme)]) == 0


def test_configuration_reference_is_current() -> None:
    """docs/configuration.md must carry the generated reference between the markers, and the
    README must link to it (no skipping)."""
    assert REFERENCE.is_file(), f"{REFERENCE} is missing"
    block = reference.extract_block(REFERENCE.read_text(encoding="utf-8"))
    assert block is not None, f"{REFERENCE} lacks {reference.START} / {reference.END}"
    assert block == reference.generate().strip(), (
        "docs/configuration.md's reference is stale: run "
        "PYTHONPATH=src python -m acmeeh.config.reference --update docs/configuration.md"
    )
    assert "(docs/configuration.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
