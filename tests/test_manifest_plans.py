"""Where plans put COPY manifests (never into a results prefix), and how they remove the ones
an interrupted apply left."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.plan import CheckColumns, DeleteObject, Guard, PutObject, Step
from publisher.planning.planner import PlanInput, plan_all, plan_publication
from publisher.planning.view import LeftObject
from publisher.results import Results
from tests.test_planner_golden import NOW, make_results, make_spec, published_view, view

MANIFESTS = "s3://results-bucket/_publisher/manifests/analytics/"


def put_uri(steps: tuple[Step, ...]) -> str:
    (uri,) = [s.uri for s in steps if isinstance(s, PutObject)]
    return uri


def at(results: Results, location: str) -> Results:
    files = tuple(replace(f, uri=location + f.uri.rsplit("/", 1)[-1]) for f in results.files)
    return replace(results, location=location, files=files)


def test_the_manifest_goes_under_the_publishers_own_prefix_not_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "load"), NOW)
    uri = put_uri(publication.steps)
    assert uri.startswith(MANIFESTS + "31_27_analytics_orders_") and uri.endswith("_20261128120000.json")
    assert not uri.startswith(publication.source)
    deletes = [s for s in publication.steps + publication.on_failure if isinstance(s, DeleteObject)]
    assert [d.uri for d in deletes] == [uri, uri] and not any(d.sha256 for d in deletes)


@pytest.mark.parametrize("location", ["s3://results-bucket/", "s3://results-bucket/_publisher/"])
def test_a_plan_that_would_write_into_a_results_prefix_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, location: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    results = at(make_results("redshift", "pqt"), location)
    publications, problems = plan_all([PlanInput(spec, results, view("redshift", "load"))], NOW)
    assert not publications
    assert f"would be written into the results prefix {location}: set manifestPrefix" in str(problems[0])


def test_nor_into_the_results_prefix_of_another_spec_of_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    other = at(make_results("redshift", "pqt"), "s3://results-bucket/_publisher/manifests/")
    inputs = [PlanInput(spec, make_results("redshift", "pqt"), view("redshift", "load")), PlanInput(spec, other, None)]
    _, problems = plan_all(inputs, NOW)
    assert len(problems) == 2 and all("would be written into the results prefix" in str(p) for p in problems)


LEFT = LeftObject(MANIFESTS + "31_27_analytics_orders_x_20261101000000.json", "ab" * 32)


def test_a_manifest_an_interrupted_apply_left_is_named_and_deleted_after_the_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    seen = replace(view("redshift", "load"), objects_left=(LEFT,))
    publication = plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    assert f"an interrupted apply left the COPY manifest {LEFT.uri}: this apply deletes it" in publication.notes
    guard = next(i for i, s in enumerate(publication.steps) if isinstance(s, Guard))
    after = next(s for s in publication.steps[guard + 1 :] if not isinstance(s, CheckColumns))
    assert isinstance(after, DeleteObject) and (after.uri, after.sha256) == (LEFT.uri, LEFT.sha256)
    assert LEFT.uri not in [s.uri for s in publication.on_failure if isinstance(s, DeleteObject)]


def test_the_plans_own_manifest_is_no_leftover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A saved plan whose apply was killed after its put: planned again, it is the same plan."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    results = make_results("redshift", "pqt")
    clean = plan_publication(spec, results, view("redshift", "load"), NOW)
    own = LeftObject(put_uri(clean.steps), "cd" * 32)
    again = plan_publication(spec, results, replace(view("redshift", "load"), objects_left=(own,)), NOW)
    assert again == clean


def test_a_published_publication_with_a_leftover_is_unfinished_and_only_deletes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    seen = replace(published_view("redshift", "load", spec), objects_left=(LEFT,))
    publication = plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    assert (
        publication.status == "unfinished"
        and "an interrupted apply left its COPY manifest" in publication.status_detail
    )
    assert publication.steps == (
        DeleteObject(
            LEFT.uri,
            "delete the COPY manifest an interrupted apply left (only while its bytes are those seen)",
            LEFT.sha256,
        ),
    )
