"""The layers run one way, and no package reaches into another's private names.

Every ``import`` in ``harness/`` - at module level or inside a function (lazy imports count) -
is checked against the layer table below (``docs/architecture.md`` explains it). A module may
import its own package, and packages of lower layers; never a package of its own layer or of a
higher one, and never a private (``_name``) module or name of another package. The modules at
the root of ``harness`` whose names start with ``_`` are the whole distribution's shared
toolbox and may be imported from anywhere inside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import harness

ROOT = Path(harness.__file__).parent

#: The layers, lowest first. A "unit" is a package (``harness.proxy``) or a root module
#: (``harness.scenario``); a module belongs to the unit of its first two dotted names.
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "harness",
        "harness._util",
        "harness._xml",
        "harness._yaml",
        "harness.errors",
        "harness.fields",
        "harness.attempt",
        "harness.tls",
    ),
    ("harness.faults", "harness.mdm", "harness.client"),
    ("harness.scenario", "harness.scenarios"),
    ("harness.proxy",),
    ("harness.contracts", "harness.servercheck"),
    ("harness.certify",),
    ("harness.bench", "harness.cli"),
    ("harness.__main__",),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
#: Root modules every layer may use (the distribution's shared toolbox).
SHARED = frozenset({"harness", "harness._util", "harness._xml", "harness._yaml"})


def unit_of(module: str) -> str:
    """The unit ``module`` belongs to; the foundation (layer 0) is one unit."""
    parts = module.split(".")
    unit = ".".join(parts[:2]) if len(parts) > 1 else parts[0]
    return "harness" if unit in LAYERS[0] else unit


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """``(line, imported module, imported names)`` for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[int, str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names = tuple(alias.name for alias in node.names)
            found.append((node.lineno, target, names))
    return [f for f in found if f[1] == "harness" or f[1].startswith("harness.")]


def _is_module(root: Path, module: str) -> bool:
    """Whether ``module`` is a module or package of the tree at ``root`` (not a name in one)."""
    base = root.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def violations(root: Path = ROOT) -> list[str]:
    """Every import of the package at ``root`` that breaks the rules."""
    out = []
    for path in sorted(root.rglob("*.py")):
        here = module_name(path, root)
        mine = unit_of(here)
        if mine not in RANK:
            out.append(f"{here}: its unit {mine} is in no layer (add it to LAYERS)")
            continue
        for line, target, names in imports_of(path, root):
            where = f"{path.relative_to(root.parent)}:{line}"
            theirs = unit_of(target)
            if theirs not in RANK:
                out.append(f"{where}: imports {target}, in no layer")
                continue
            if theirs != mine and theirs not in SHARED:
                if RANK[theirs] > RANK[mine]:
                    out.append(f"{where}: {mine} imports {target} from a higher layer")
                elif RANK[theirs] == RANK[mine]:
                    out.append(f"{where}: {mine} imports {target} of its own layer")
            private = [
                n
                for n in names
                if n.startswith("_")
                and n != "__version__"
                and f"{target}.{n}" not in SHARED
                and not (theirs == mine and _is_module(root, f"{target}.{n}"))
            ]
            if theirs != mine:
                private_module = any(p.startswith("_") for p in target.split(".")[2:])
                if private_module and target not in SHARED:
                    out.append(f"{where}: imports the private module {target}")
            if private and target != here:
                out.append(f"{where}: imports private {', '.join(private)} from {target}")
    return out


#: Violations known today, each with the work that removes it. The test fails on any other -
#: and on any of these once it is gone (then delete it here).
KNOWN: dict[str, str] = {}


def test_imports_run_one_way_and_respect_private_names() -> None:
    found = set(violations())
    new = sorted(found - set(KNOWN))
    gone = sorted(set(KNOWN) - found)
    assert not new, "import-graph violations:\n" + "\n".join(new)
    assert not gone, "fixed (delete from KNOWN):\n" + "\n".join(gone)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("from harness.proxy import FaultProxy\n", "from a higher layer"),
        ("from harness.client.policy import _Reader\n", "imports private _Reader"),
        ("from harness.mdm.server import ReferenceMDM\n", "of its own layer"),
        ("import harness.contracts.checks\n", "from a higher layer"),
        ("from harness.mdm._loadgen import run\n", "the private module harness.mdm._loadgen"),
    ],
)
def test_the_checker_bites(tmp_path: Path, source: str, problem: str) -> None:
    """A module of harness.faults written with each kind of bad import is flagged."""
    faults = tmp_path / "harness" / "faults"
    faults.mkdir(parents=True)
    (tmp_path / "harness" / "__init__.py").write_text("")
    (faults / "__init__.py").write_text("from harness.faults import probe\n")
    (faults / "probe.py").write_text(source, encoding="utf-8")
    found = violations(tmp_path / "harness")
    assert [v for v in found if "probe.py" in v and problem in v], found
    assert not [v for v in found if "__init__.py" in v], found
