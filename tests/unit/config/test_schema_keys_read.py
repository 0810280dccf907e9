"""Every key of config/schema.yaml is read by the code (outside config/), so no documented key
is dead: the test follows each leaf key's parent section through the source, the way the code
reaches it (settings.challenges.max_attempts, `cfg = settings.challenges` then
`cfg.max_attempts`, a section passed as an argument, a property returning a section), and
reports the keys nothing reads. A key added to the schema must be wired, or this fails."""
from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acmeeh.config.load import load_schema

SRC = Path(__file__).resolve().parents[3] / "src" / "acmeeh"
MAX_ROUNDS = 20  # alias propagation reaches its fixed point in a few rounds


def leaves(schema: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths of the schema's leaf keys (objects with properties are walked, not leaves)."""
    props = schema.get("properties")
    if schema.get("type") == "object" and props:
        for key, sub in props.items():
            yield from leaves(sub, (*path, key))
    elif path:
        yield path


def sections(schema: dict[str, Any]) -> set[str]:
    return {path[-2] for path in leaves(schema) if len(path) > 1}


class Reads:
    """Which (section, key) pairs the source reads, following names bound to a section."""

    def __init__(self, modules: dict[str, ast.Module], known: set[str]) -> None:
        self.modules, self.known = modules, known
        self.aliases: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.returns: dict[str, set[str]] = defaultdict(set)
        self.params: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        for name, tree in modules.items():
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    args = node.args
                    self.params[node.name].append(
                        (name, [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]))
                elif isinstance(node, ast.ClassDef):  # a call of the class binds __init__'s
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                            self.params[node.name].append(
                                (name, [a.arg for a in item.args.args[1:] + item.args.kwonlyargs]))
        for _ in range(MAX_ROUNDS):
            if not self._propagate():
                break

    def section(self, module: str, expr: ast.expr) -> set[str]:
        """The sections `expr` may hold."""
        if isinstance(expr, ast.Attribute):
            found = ({expr.attr} & self.known) | self.returns[expr.attr]
            if isinstance(expr.value, ast.Name) and expr.value.id == "self":
                found |= self.aliases[module]["self." + expr.attr]
            return found
        if isinstance(expr, ast.Name):
            return set(self.aliases[module][expr.id])
        if isinstance(expr, ast.Call) and isinstance(expr.func, (ast.Name, ast.Attribute)):
            func = expr.func.id if isinstance(expr.func, ast.Name) else expr.func.attr
            return set(self.returns[func])
        return set()

    def _bind(self, module: str, name: str, found: set[str]) -> bool:
        if found - self.aliases[module][name]:
            self.aliases[module][name] |= found
            return True
        return False

    def _propagate(self) -> bool:
        changed = False
        for module, tree in self.modules.items():
            for node in ast.walk(tree):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    found = self.section(module, node.value)
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets if found else ():
                        if isinstance(target, ast.Name):
                            changed |= self._bind(module, target.id, found)
                        elif (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                              and target.value.id == "self"):
                            changed |= self._bind(module, "self." + target.attr, found)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for ret in ast.walk(node):
                        if isinstance(ret, ast.Return) and ret.value is not None:
                            found = self.section(module, ret.value)
                            if found - self.returns[node.name]:
                                self.returns[node.name] |= found
                                changed = True
                elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                    func = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                    passed = [(i, None, a) for i, a in enumerate(node.args)]
                    passed += [(None, k.arg, k.value) for k in node.keywords if k.arg]
                    for index, keyword, value in passed:
                        found = self.section(module, value)
                        for target, params in self.params.get(func, []) if found else ():
                            name = params[index] if index is not None and index < len(params) \
                                else keyword if keyword in params else None
                            if name:
                                changed |= self._bind(target, name, found)
        return changed

    def pairs(self) -> set[tuple[str, str]]:
        """(section, key) for every attribute read (or getattr with a literal name)."""
        out: set[tuple[str, str]] = set()
        for module, tree in self.modules.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute):
                    out |= {(s, node.attr) for s in self.section(module, node.value)}
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                      and node.func.id == "getattr" and len(node.args) >= 2
                      and isinstance(node.args[1], ast.Constant)):
                    out |= {(s, str(node.args[1].value)) for s in self.section(module, node.args[0])}
        return out


def unread(schema: dict[str, Any], modules: dict[str, ast.Module]) -> list[str]:
    """The schema's leaf keys that no module reads."""
    read = Reads(modules, sections(schema)).pairs()
    return [".".join(path) for path in leaves(schema)
            if len(path) > 1 and (path[-2], path[-1]) not in read]


def source_modules() -> dict[str, ast.Module]:
    """Every module of the package except config/, which validates keys rather than using them."""
    return {str(path.relative_to(SRC)): ast.parse(path.read_text(), str(path))
            for path in sorted(SRC.rglob("*.py")) if path.relative_to(SRC).parts[0] != "config"}


def test_every_schema_key_is_read_by_the_code() -> None:
    assert unread(load_schema(), source_modules()) == []


@pytest.mark.parametrize(("code", "dead"), [
    ("x = settings.challenges.max_attempts", []),  # direct
    ("cfg = env.settings.challenges\ny = cfg.max_attempts", []),  # through a name
    ("def f(c):\n    return c.max_attempts\nf(settings.challenges)", []),  # passed on
    ("class A:\n    def __init__(self, s):\n        self.s = s\n"
     "    def g(self):\n        return self.s.max_attempts\nA(settings.challenges)", []),
    ("class B:\n    @property\n    def cfg(self):\n        return self.env.settings.challenges\n"
     "def h(b):\n    return b.cfg.max_attempts", []),  # a property returning the section
    ("x = settings.challenges.validation_threads", ["challenges.max_attempts"]),
    ("max_attempts = 3\ny = other.max_attempts", ["challenges.max_attempts"]),  # not a section
])
def test_the_check_itself(code: str, dead: list[str]) -> None:
    schema = {"type": "object", "properties": {"challenges": {"type": "object", "properties": {
        "max_attempts": {"type": "integer"}, "validation_threads": {"type": "integer"}}}}}
    found = unread(schema, {"m.py": ast.parse(code)})
    assert [k for k in found if k == "challenges.max_attempts"] == dead
