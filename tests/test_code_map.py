"""The code map (docs/architecture.md) names every package and module of publisher/, and nothing
that is gone; and the import rules that page describes hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = "docs/architecture.md"


def code_map() -> str:
    text = (ROOT / MAP).read_text(encoding="utf-8")
    section = text[text.index("## Code map") :]
    return section[section.index("```") + 3 : section.index("```", section.index("```") + 3)]


def test_every_module_is_on_the_map_and_every_name_on_it_exists() -> None:
    mapped = code_map()
    for path in sorted((ROOT / "publisher").rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        relative = path.relative_to(ROOT / "publisher")
        parent = relative.parent.name
        named = path.name in mapped or f"{parent}/{path.name}" in mapped
        # One line each for the folders of one kind of module: actions/, and the generated schema_code/.
        assert named or parent in ("actions", "schema_code"), f"publisher/{relative} is not on {MAP}'s code map"
    for line in mapped.splitlines():
        entry = re.match(r"\s*(\S.*?)(?:\s{2,}|$)", line)
        for name in entry.group(1).split(", ") if entry else ():
            candidates = [ROOT / name, *(ROOT / "publisher").rglob(name.rstrip("/"))]
            assert any(c.exists() for c in candidates), f"{MAP}'s code map names {name}, which does not exist"


def imports(folder: str) -> dict[str, set[str]]:
    """Modules each file of publisher/<folder> imports at run time (not under TYPE_CHECKING)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "publisher" / folder).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


DRIVERS = ("pyhive", "pyspark", "redshift_connector", "boto3", "sqlalchemy", "thrift")


def test_planning_and_dialects_import_no_engine_driver_or_executor() -> None:
    for folder in ("planning", "dialects", "model"):
        for file, names in imports(folder).items():
            bad = [n for n in names if n.startswith(("publisher.engines", "publisher.apply", *DRIVERS))]
            assert not bad, f"{file} imports {bad}"


def test_model_imports_nothing_else_of_publisher() -> None:
    for file, names in imports("model").items():
        bad = [n for n in names if n.startswith("publisher.") and not n.startswith("publisher.model")]
        assert not bad, f"{file} imports {bad}"


def test_hive_parsing_imports_no_driver_and_pyspark_loads_only_with_a_session() -> None:
    engines = imports("engines")
    for name in ("hive_describe.py", "hive_errors.py"):
        bad = [n for n in engines[f"publisher/engines/{name}"] if n.startswith(DRIVERS)]
        assert not bad, f"publisher/engines/{name} imports {bad}"
    assert not [n for n in engines["publisher/engines/hiveserver2.py"] if n.startswith("pyspark")]
    # hive_embedded imports pyspark inside the function that starts the session, not on import.
    tree = ast.parse((ROOT / "publisher/engines/hive_embedded.py").read_text(encoding="utf-8"))
    top = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top |= {n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert not [n for n in top if n.startswith("pyspark")]


# The layers of docs/architecture.md, bottom up: a package (or top-level module) imports, at run
# time, only publisher packages of a lower layer. A new package gets its layer here and there.
LAYERS: dict[str, int] = {
    "model": 0,
    "targets": 1,
    "inputs": 2,
    "dialects": 2,
    "results": 3,
    "engines": 4,
    "planning": 4,
    "apply": 5,
    "reports": 6,
    "workflow": 7,
    "serve": 8,
    "cli": 9,
    "__main__": 10,
}


def test_every_package_imports_only_lower_layers() -> None:
    for file, names in imports(".").items():
        parts = Path(file).relative_to("publisher").parts
        if parts[0] == "__init__.py" or "schema_code" in parts:
            continue
        layer = parts[0].removesuffix(".py")
        assert layer in LAYERS, f"{file}: publisher/{layer} has no layer: add it to LAYERS and docs/architecture.md"
        for name in names:
            if not name.startswith("publisher.") or name.split(".")[1] == layer:
                continue
            used = name.split(".")[1]
            assert LAYERS.get(used, 99) < LAYERS[layer], f"{file} imports {name}: a layer not below {layer}'s"


def test_targets_import_only_the_model() -> None:
    # The descriptors are what validate reads: they name their dialect and engine by import
    # path, never import them (nor a driver), and sit just above model/ (layers stay acyclic).
    for file, names in imports("targets").items():
        bad = [
            n
            for n in names
            if n.startswith("publisher.") and not n.startswith(("publisher.model", "publisher.targets"))
        ]
        bad += [n for n in names if n.startswith(DRIVERS)]
        assert not bad, f"{file} imports {bad}"
