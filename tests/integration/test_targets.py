"""Behaviours every target must show, written once and run on each engine: the embedded
Hive, the HiveServer2 and the Redshift stand-in (the ``target`` fixture, conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import printed_statements
from tests.integration.conftest import Target

ACTIONS_INTO = [
    ("c", "create", "t_new"),
    ("d", "createAndLoad", "t_new"),
    ("e", "load", "t_load"),
    ("f", "truncateAndLoad", "t_truncate"),
    ("g", "dropAndLoad", "t_drop"),
]


def test_dry_run_prints_exactly_what_apply_then_runs(target: Target) -> None:
    """Every action: `apply --dry-run` plans live and prints the statements that the next
    `apply` runs (names differ only by the plan-time stamp), and runs none of them."""
    project = target.project
    target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1, table="t_load")
    target.spec("b", "dropAndLoad", 1, table="t_truncate")
    assert project.run("apply").code == 0
    target.results(2, 10, 3)
    for name, action, table in ACTIONS_INTO:
        target.spec(name, action, 2, table=table)
    before = target.tables()
    dry = project.run("apply", "--dry-run")
    assert dry.code == 0, dry.err
    assert "5 would be published (dry run: nothing ran), 2 already published" in dry.out
    assert target.tables() == before and target.count("t_load") == 4 and target.count("t_truncate") == 4
    real = project.run("apply")
    assert real.code == 0, real.err
    planned, ran = printed_statements(dry.out), printed_statements(real.out)
    assert len(ran) > 40 and planned == ran
    assert target.count("t_load") == 7 and target.count("t_truncate") == 3


def test_an_edited_saved_plan_is_refused(target: Target) -> None:
    """A saved plan runs only if the specs, results, config and target plan the very same
    statements now: an added statement (one that reads an environment variable, too), an
    edited one, an emptied fingerprint and a changed publisher.yaml are refused."""
    project = target.project
    data = target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("plan", "-o", "plan.json").code == 0
    saved = json.loads((project.root / "plan.json").read_text())
    pub = saved["publications"][0]
    evil = "`evil`" if target.is_hive else f'"{target.engine.schema}"."evil"'
    added = {
        "kind": "sql",
        "sql": [f"CREATE TABLE {evil} AS SELECT ", {"param": "secret", "name": "HOME"}],
        "purpose": "x",
    }
    edits = {
        "added": {**pub, "steps": [*pub["steps"], added]},
        "edited": {**pub, "steps": [added, *pub["steps"][1:]]},
        "no fingerprint": {**pub, "fingerprint": {}},
    }
    for what, edited in edits.items():
        (project.root / "plan.json").write_text(json.dumps({**saved, "publications": [edited]}))
        result = project.run("apply", "plan.json")
        assert result.code == 1, what
        assert "is stale, nothing was applied" in result.err, (what, result.err)
    (project.root / "plan.json").write_text(json.dumps(saved))
    config = (project.root / "publisher.yaml").read_text()
    (project.root / "publisher.yaml").write_text(config + "\n# reviewed\n")
    assert "publisher.yaml changed" in project.run("apply", "plan.json").err
    (project.root / "publisher.yaml").write_text(config)
    assert not {"evil", "t"} & target.tables()
    assert project.run("apply", "plan.json").code == 0
    assert target.rows("t") == target.expected(data)


def test_two_projects_sharing_a_ledger_each_publish_their_own(target: Target) -> None:
    """Two publisher.yaml files with the same connection id and ledger, each naming its project:
    the second's publication of the same job into the same table is not taken for its own
    (the defect: 'already published', and its rows never arrived); the plan refuses it, naming
    the other project, and --force publishes it; each then sees its own row."""
    import shutil

    import yaml

    from tests.conftest import Project

    first = target.project
    config = yaml.safe_load((first.root / "publisher.yaml").read_text())
    (first.root / "publisher.yaml").write_text(yaml.safe_dump({"project": "finance", **config}, sort_keys=False))
    target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    target.results(2, 10, 3)
    target.spec("b", "load", 2)
    applied = first.run("apply")
    assert applied.code == 0, applied.err
    assert target.count("t") == 7

    (target.tmp / "second project").mkdir()
    second = Project(target.tmp / "second project", first.connections)
    (second.root / "publisher.yaml").write_text(yaml.safe_dump({"project": "sales", **config}, sort_keys=False))
    shutil.copy(first.root / "specs" / "b.yaml", second.root / "specs" / "b.yaml")
    if target.is_hive:  # local results, beside each publisher.yaml
        shutil.copytree(first.results(2, 1), second.results(2, 1))
    refused = second.run("plan")
    assert refused.code == 1, refused.out
    assert "was published by project 'finance'" in refused.err and "not by project 'sales'" in refused.err
    assert second.run("apply").code == 1 and target.count("t") == 7
    forced = second.run("apply", "--force")
    assert forced.code == 0, forced.err
    assert target.count("t") == 10, "the second project's rows arrived"
    assert "already published" in second.run("plan").out
    assert "already published" in first.run("plan").out
    projects = sorted(
        str(r[0]) for r in target.fetch(f"SELECT project FROM {target.ledger_table()} WHERE state = 'done'")
    )
    assert projects == ["finance", "finance", "sales"]


def test_a_ledger_dropped_by_hand_stops_the_next_apply_until_forced(target: Target) -> None:
    """Without its ledger the target looks unpublished, and a load would append its rows again:
    the plan finds what only an apply leaves (Redshift's lock tables; on Hive, whose lock tables
    go with each publication, the mark of the tables the publisher creates) and stops; --force
    goes on."""
    project = target.project
    target.results(1, 1, 4)
    target.spec("a", "createAndLoad", 1)
    assert project.run("apply").code == 0
    target.execute(f"DROP TABLE {target.ledger_table()}")
    refused = project.run("plan")
    assert refused.code == 1 and "is missing, yet this connection was published into before" in refused.err
    assert project.run("apply").code == 1
    made = [n for n in target.tables() if n.startswith("t_")]
    assert len(made) == 1, made
    forced = project.run("apply", "--force")
    assert forced.code == 0, forced.err
    assert len([n for n in target.tables() if n.startswith("t_")]) == 2


def test_a_load_into_a_table_published_before_its_ledger_was_dropped_is_refused(target: Target) -> None:
    """The case that duplicates rows: a table published by dropAndLoad, the ledger dropped, then
    a load into it. The plan stops, naming what it found; the table keeps its rows."""
    project = target.project
    target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("apply").code == 0
    target.execute(f"DROP TABLE {target.ledger_table()}")
    (project.root / "specs" / "a.yaml").unlink()
    target.results(2, 10, 3)
    target.spec("b", "load", 2)
    refused = project.run("apply")
    assert refused.code == 1 and "is missing, yet this connection was published into before" in refused.err
    if target.is_hive:
        assert "t (made by publisher)" in refused.err, refused.err
    assert target.count("t") == 4


def test_a_table_changed_between_plan_and_apply_stops_the_publication_unchanged(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another apply or a person changes the table after the plan read it: under the table's
    lock, before any change, its columns are read again and differ, so nothing is written."""
    from publisher.planning.snapshot import Snapshot

    project = target.project
    seeded = target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("apply").code == 0
    target.results(2, 10, 3)
    target.spec("b", "load", 2)
    table = target.engine.fresh("t") if target.is_hive else target.engine.qualified("t")
    added = "ADD COLUMNS (extra STRING)" if target.is_hive else "ADD COLUMN extra VARCHAR(10)"
    original = Snapshot.view

    def read_then_change(self: Snapshot, spec: Any) -> Any:
        seen = original(self, spec)
        if spec.action == "load":
            target.execute(f"ALTER TABLE {table} {added}")
        return seen

    monkeypatch.setattr(Snapshot, "view", read_then_change)
    stopped = project.run("apply")
    assert stopped.code == 1, stopped.out
    assert "has other columns: extra" in stopped.err and "nothing was changed: plan again" in stopped.err
    monkeypatch.undo()
    assert target.count("t") == len(seeded)
