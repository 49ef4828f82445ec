"""The JSON Schemas have one copy: in the package, with top-level schemas/ linking to it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_schemas_links_to_the_package_data() -> None:
    # Editors read schemas/ (example specs' $schema comments); the wheel ships publisher/schemas/.
    link = ROOT / "schemas"
    assert link.is_symlink(), "schemas/ must stay a symlink to publisher/schemas/, not a copy"
    assert link.resolve() == (ROOT / "publisher" / "schemas").resolve()
