"""Packaging: the JSON Schemas have one copy (in the package, top-level schemas/ links to it),
and every way of installing the project that the documents show names its own distribution."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

from publisher import DISTRIBUTION

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_schemas_links_to_the_package_data() -> None:
    # Editors read schemas/ (example specs' $schema comments); the wheel ships publisher/schemas/.
    link = ROOT / "schemas"
    assert link.is_symlink(), "schemas/ must stay a symlink to publisher/schemas/, not a copy"
    assert link.resolve() == (ROOT / "publisher" / "schemas").resolve()


# The distribution's name. PyPI's "publisher" is an unrelated package (2015): an install line
# that names it, or `publisher[extra]`, installs that package instead (dependency confusion).
INSTALL = re.compile(r"\bpip install\b(?P<args>[^`&;|\n]*)")
BARE_EXTRAS = re.compile(r"(?<![\w.-])publisher\[")
DOCUMENTS = ("README.md", "docs/**/*", "examples/**/*", "bench/README.md", ".pre-commit-hooks.yaml")


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _documents() -> list[Path]:
    found = {p for pattern in DOCUMENTS for p in ROOT.glob(pattern) if p.is_file()}
    return sorted(p for p in found if p.suffix in (".md", ".yml", ".yaml", ".sh", ".txt", ".py", ""))


def _requirement_name(arg: str) -> str:
    """The distribution an argument of pip install names (PEP 508: name[extras] @ url, name>=1)."""
    return re.split(r"[\[@<>=!~; ]", arg, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_the_distribution_is_not_pypis_publisher() -> None:
    project = _pyproject()["project"]
    assert project["name"] == DISTRIBUTION != "publisher"
    assert project["scripts"] == {"publisher": "publisher.cli:run"}, "the command stays `publisher`"
    # Extras that include other extras name this distribution, never PyPI's "publisher".
    for extra, requirements in project["optional-dependencies"].items():
        for requirement in requirements:
            assert _requirement_name(requirement) != "publisher", f"extra {extra}: {requirement}"


def test_every_install_line_names_this_distribution() -> None:
    checked = 0
    for path in _documents():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            assert not BARE_EXTRAS.search(line), f"{where}: names PyPI's unrelated 'publisher' (use {DISTRIBUTION})"
            for found in INSTALL.finditer(line):
                args = [a for a in shlex.split(found["args"].strip(" ()"), posix=True) if not a.startswith("-")]
                assert args, f"{where}: an install line with nothing to install"
                for arg in args:
                    checked += 1
                    if arg.startswith((".", "/")):  # this repository, or a wheel built from it
                        wheel = Path(arg.split("[", 1)[0]).name
                        assert not wheel.endswith(".whl") or wheel.startswith(DISTRIBUTION.replace("-", "_") + "-"), (
                            where
                        )
                        continue
                    assert _requirement_name(arg) == DISTRIBUTION, f"{where}: installs {arg!r}, not {DISTRIBUTION}"
                    assert "@" in arg or "[" in arg, f"{where}: {arg!r}"
    assert checked >= 5, "the README, docs and examples show how to install: this test found too few lines"


def test_the_example_ci_installs_from_the_repository_not_by_name() -> None:
    # A bare name is looked up on PyPI, where this project is not published.
    workflow = (ROOT / "examples" / "ci" / "publisher.yml").read_text(encoding="utf-8")
    installs = [m["args"].strip(" '\"") for m in INSTALL.finditer(workflow)]
    assert installs, "examples/ci/publisher.yml installs publisher"
    for requirement in installs:
        assert requirement.startswith(f"{DISTRIBUTION}[") and " @ git+https://" in requirement, requirement
