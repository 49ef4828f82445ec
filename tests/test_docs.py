"""The documents stay true: every relative link of README.md, docs/ and tests/README.md points at
a file that exists and, with a #fragment, at a heading of it; the README stays a short page; and
docs/architecture.md's checklists name what adding an action or a target really touches."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from publisher.model.vocabulary import ACTIONS, TARGET_TYPES
from publisher.planning.actions import STRATEGIES
from publisher.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "tests" / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return CODE.sub("", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The fragments GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated heading numbered -1, -2, ..."""
    found: set[str] = set()
    for line in FENCE.sub("", text).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).replace("`", "").lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def links() -> list[tuple[Path, str]]:
    return [(doc, target) for doc in DOCUMENTS for target in LINK.findall(_prose(doc.read_text(encoding="utf-8")))]


def test_the_documents_are_found() -> None:
    assert len(DOCUMENTS) >= 10 and len(links()) >= 40, "the link check found too few documents or links"


def _id(value: object) -> str:
    return str(value.relative_to(ROOT)) if isinstance(value, Path) else str(value)


@pytest.mark.parametrize(("doc", "target"), links(), ids=_id)
def test_every_relative_link_points_at_a_file_and_a_heading(doc: Path, target: str) -> None:
    if re.match(r"[a-z]+:", target):  # https:, mailto: ...: not checked here
        return
    path, _, fragment = target.partition("#")
    file = (doc.parent / path).resolve() if path else doc
    where = f"{doc.relative_to(ROOT)}: link to {target}"
    assert file.exists(), f"{where}: no such file"
    if fragment:
        assert file.suffix == ".md", f"{where}: a fragment of a file that is not markdown"
        assert fragment in anchors(file.read_text(encoding="utf-8")), f"{where}: no such heading"


def test_anchors_are_githubs() -> None:
    text = "# publisher serve\n## The project config (`publisher.yaml`)\n## Tests: verified\n## Tests: verified\n"
    assert anchors(text) == {
        "publisher-serve",
        "the-project-config-publisheryaml",
        "tests-verified",
        "tests-verified-1",
    }


def test_the_readme_is_a_short_page_that_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move the detail into docs/"
    assert lines[2].split()[0] == "scripts/demo.sh" and lines[3].split()[0] == "scripts/test.sh"
    for command in ("scripts/demo.sh", "scripts/test.sh"):
        assert (ROOT / command).exists(), command


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"docs/{page.name} is not linked from the README"


# docs/architecture.md's checklists


def _section(heading: str) -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _files_named(section: str) -> set[str]:
    """Paths in code spans that name a file or folder of the repository (not a template)."""
    spans = (s.strip("`").split("::")[0] for s in CODE.findall(section))
    return {s for s in spans if "/" in s and "<" not in s and " " not in s and not s.startswith("$")}


def test_every_test_the_import_rules_cite_exists() -> None:
    cited = [s.strip("`") for s in CODE.findall(_section("Import rules")) if "::" in s]
    assert len(cited) >= 3
    for name in cited:
        file, function = name.split("::")
        assert f"def {function}(" in (ROOT / file).read_text(encoding="utf-8"), f"docs/architecture.md cites {name}"


@pytest.mark.parametrize(
    "heading", ["How to add an action", "How to add a step kind", "Step kinds", "How to add a target", "Import rules"]
)
def test_every_file_a_checklist_names_exists(heading: str) -> None:
    for name in _files_named(_section(heading)):
        # A path from the repository's root, or inside publisher/ (model/, apply/executor.py).
        found = [ROOT / name.rstrip("/"), ROOT / "publisher" / name.rstrip("/")]
        assert any(p.exists() for p in found), f"docs/architecture.md, {heading!r}, names {name}, which does not exist"


def _module(action: str) -> Path:
    return Path(type(STRATEGIES[action]).__module__.replace(".", "/") + ".py")


def test_every_action_has_what_the_action_checklist_asks_for() -> None:
    checklist = _section("How to add an action")
    steps = (
        "publisher/model/vocabulary.py",
        "publisher/schemas/publish-spec.schema.json",
        "publisher/planning/actions/__init__.py",
    )
    for step in steps:
        assert f"`{step}`" in checklist, step
    assert "`publisher/planning/actions/<action>.py`" in checklist
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    actions_doc = (ROOT / "docs" / "actions.md").read_text(encoding="utf-8")
    recovery = {p.name.split("_", 1)[0] for p in (ROOT / "tests" / "golden" / "recovery").glob("*.txt")}
    assert set(STRATEGIES) == set(ACTIONS)
    for action in ACTIONS:
        module = _module(action)
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", action).lower()
        assert module == Path(f"publisher/planning/actions/{snake}.py"), f"{action}: strategy in {module}"
        assert (ROOT / module).exists()
        for target, descriptor in TARGETS.items():
            for fmt in descriptor.input_formats:
                golden = ROOT / "tests" / "golden" / target / f"{action}_{fmt}.txt"
                assert golden.exists(), f"{action}: no golden plan {golden.relative_to(ROOT)}"
        assert action in recovery, f"{action}: no golden recovery plan in tests/golden/recovery/"
        assert re.search(rf"^\| `{action}`", readme, re.M), f"{action}: no row in the README's guarantees table"
        rows = re.findall(rf"^\| `{action}`[ ,|]", actions_doc, re.M)
        assert len(rows) >= 2, f"{action}: docs/actions.md needs a row in both tables (what it guarantees; how)"


def _names_a_target(path: Path) -> bool:
    """Whether a module keys something by a target's name, or tests for a target's settings."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and node.value in TARGET_TYPES:
            return True
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        if name.endswith("Settings") and name[: -len("Settings")].lower() in TARGET_TYPES:
            return True
    return False


def test_the_target_checklist_names_every_module_that_names_a_target() -> None:
    checklist = _section("How to add a target")
    named = _files_named(checklist)
    for path in sorted((ROOT / "publisher").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "schema_code" in relative.parts or path.stem.split("_")[0] in TARGET_TYPES:
            continue  # generated; or a target's own module (dialects/hive.py, engines/redshift_grants.py)
        if _names_a_target(path):
            assert str(relative) in named, f"{relative} names a target: add it to the target checklist"
