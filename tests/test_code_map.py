"""README's code map names every package and module of publisher/, and nothing that is gone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_map() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
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
        assert named or parent in ("actions", "schema_code"), f"publisher/{relative} is not on README's code map"
    for line in mapped.splitlines():
        entry = re.match(r"\s*(\S.*?)(?:\s{2,}|$)", line)
        for name in entry.group(1).split(", ") if entry else ():
            candidates = [ROOT / name, *(ROOT / "publisher").rglob(name.rstrip("/"))]
            assert any(c.exists() for c in candidates), f"README's code map names {name}, which does not exist"


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
