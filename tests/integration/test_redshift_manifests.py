"""COPY manifests against the Redshift stand-in and its S3 server: keys holding any character,
taken as written (listing, manifest, COPY, clean-up); nothing written into a results prefix;
nothing deleted that the apply did not write; a manifest a killed apply left removed by the
next apply of its publication, and named by the plan before."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from publisher.model.plan import PutObject, plan_from_json
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_redshift import applied, expected, spec, table_rows
from tests.resultfiles import write

pytestmark = pytest.mark.redshift

ODD = "run#42?x=1&y=%20 it's ${x} dépôt ü/"
"""A results folder whose name holds what a URL parser cuts at or decodes."""


def manifest_put(path: Path) -> PutObject:
    """The saved plan's (first publication's) PutObject: the COPY manifest."""
    steps = plan_from_json(path.read_text()).publications[0].steps
    (put,) = [s for s in steps if isinstance(s, PutObject)]
    return put


def odd_results(rs: RedshiftEngine, tmp_path: Path, folder: str, count: int = 20) -> list[dict[str, object]]:
    local = tmp_path / "local-results"
    data = write(local, "pqt", 1, count, parts=2, tricky=True)
    for path in sorted(local.iterdir()):
        rs.put(folder + path.name, path.read_bytes())
    return data


@pytest.mark.parametrize("manifests", [None, "own/m #1?%' ${y} ü/"], ids=["default", "odd-manifestPrefix"])
def test_keys_holding_any_character_are_listed_loaded_and_cleaned_up_as_written(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, manifests: str | None
) -> None:
    """Before, the manifest beside results run#42... was put and deleted as jobs/run (urlparse
    cut the key at '#'): someone else's object."""
    rs, project = redshift, redshift_project
    folder = f"jobs/{ODD}"
    data = odd_results(rs, tmp_path, folder)
    # Where a URL parser would cut or decode these keys: someone else's objects, which must stay.
    decoys = {"jobs/run": b"decoy", "own/m": b"decoy", "jobs/run#42": b"decoy", "own/m #1?%' ${y} ü": b"decoy"}
    for key, body in decoys.items():
        rs.put(key, body)
    if manifests:
        rs.target["manifestPrefix"] = rs.uri(manifests)
        project.write_config()
    spec(project, rs, "a", "createAndLoad", "pqt", 10, source=rs.uri(folder))
    before = rs.objects()

    plan = project.run("plan")
    assert plan.code in (0, 2), plan.err
    assert (
        f"PUT {rs.uri(manifests or '_publisher/manifests/redshift/')}10_1_" in plan.out
        and "listing 2 file(s): part-00000.parquet" in plan.out
    )

    applied(project)
    (made,) = [t for t in rs.tables() if t.startswith("t_")]
    assert table_rows(rs, made) == expected(data)
    assert rs.objects() == before, "the results and the decoys unchanged, the manifest deleted"


def test_a_killed_apply_leaves_nothing_in_the_results_and_the_next_apply_removes_its_manifest(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    rs, project = redshift, redshift_project
    data = odd_results(rs, tmp_path, rs.prefix(10))
    spec(project, rs, "a", "createAndLoad", "pqt", 10)
    results = rs.objects(rs.prefix(10))
    saved = project.run("plan", "-o", "old.json")
    assert saved.code in (0, 2), saved.err
    put = manifest_put(project.root / "old.json")
    assert put.uri.startswith(rs.uri("_publisher/manifests/redshift/10_1_"))
    # An apply of an earlier plan (another stamp), killed right after writing its manifest:
    left = re.sub(r"_\d{14}\.json$", "_20261101000000.json", put.uri)
    rs.put(left.removeprefix(rs.uri("")), put.body.encode())
    assert rs.objects(rs.prefix(10)) == results, "nothing was written into the results prefix"

    plan = project.run("plan")
    assert f"an interrupted apply left the COPY manifest {left}: this apply deletes it" in plan.out
    assert f"DELETE {left}  -- only while its bytes are those seen" in plan.out
    applied(project)
    (made,) = [t for t in rs.tables() if t.startswith("t_")]
    assert table_rows(rs, made) == expected(data)
    assert rs.manifests() == [] and rs.objects(rs.prefix(10)) == results


def test_a_saved_plan_whose_apply_was_killed_applies_again_and_removes_its_manifest(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    rs, project = redshift, redshift_project
    data = odd_results(rs, tmp_path, rs.prefix(10))
    spec(project, rs, "a", "createAndLoad", "pqt", 10)
    assert project.run("plan", "-o", "plan.json").code in (0, 2)
    put = manifest_put(project.root / "plan.json")
    rs.put(put.uri.removeprefix(rs.uri("")), put.body.encode())  # killed after its put

    out = applied(project, "plan.json")
    assert "there already with the plan's own bytes" in out, out
    (made,) = [t for t in rs.tables() if t.startswith("t_")]
    assert table_rows(rs, made) == expected(data) and rs.manifests() == []


def test_a_manifest_key_taken_by_other_bytes_is_neither_overwritten_nor_deleted(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    rs, project = redshift, redshift_project
    odd_results(rs, tmp_path, rs.prefix(10))
    spec(project, rs, "a", "createAndLoad", "pqt", 10)
    assert project.run("plan", "-o", "plan.json").code in (0, 2)
    put = manifest_put(project.root / "plan.json")
    key = put.uri.removeprefix(rs.uri(""))
    rs.put(key, b"someone else's bytes")

    result = project.run("apply", "plan.json")
    assert result.code == 1 and "already exists with other content; it was not overwritten" in result.err
    assert rs.s3.get_object(Bucket=rs.bucket, Key=key)["Body"].read() == b"someone else's bytes"
    assert not [t for t in rs.tables() if t.startswith("t_")]


def test_a_published_publication_with_a_leftover_manifest_only_deletes_it(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """A concurrent apply of the same publication killed after its put, once another published it."""
    rs, project = redshift, redshift_project
    odd_results(rs, tmp_path, rs.prefix(10))
    spec(project, rs, "a", "createAndLoad", "pqt", 10)
    assert project.run("plan", "-o", "first.json").code in (0, 2)
    put = manifest_put(project.root / "first.json")
    applied(project)
    rs.put(put.uri.removeprefix(rs.uri("")), json.dumps({"entries": []}).encode())

    plan = project.run("plan")
    assert "an interrupted apply left its COPY manifest(s): finishing them, publishing nothing again" in plan.out
    tables = rs.tables()
    applied(project)
    assert rs.manifests() == [] and rs.tables() == tables
