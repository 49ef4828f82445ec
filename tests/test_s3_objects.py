"""S3 URIs taken as written, and COPY manifests deleted only by the apply that wrote them:
S3Uri, S3Objects and the executor's delete paths, against a real S3 API server (moto)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from publisher.apply.executor import Executor, StepEvent
from publisher.dialects import dialect_for
from publisher.engines.pool import S3Objects
from publisher.model.errors import PublishFailed
from publisher.model.identity import PublicationId
from publisher.model.plan import Begin, Commit, DeleteObject, Publication, PutObject, Step, sql
from publisher.model.s3uri import S3Uri
from publisher.results import inspect_results
from tests import test_results
from tests.test_executor import ConflictingTarget, FakeTarget
from tests.test_results import parquet_bytes, parquet_table

s3_endpoint = test_results.s3_endpoint  # the fixtures: a moto server, and a client with a bucket of the test's
s3 = test_results.s3

ODD_KEYS = ["run#42/", "a?b=1/", "100%25 done/", "two words/", "it's/", "${x}/", "dépôt/ü—日本/"]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_an_s3_uri_is_the_bucket_then_the_key_exactly_as_written(key: str) -> None:
    uri = S3Uri.parse(f"s3://adv/victim/{key}")
    assert uri == S3Uri("adv", f"victim/{key}")
    assert str(uri) == f"s3://adv/victim/{key}"
    assert str(uri.join("m.json")) == f"s3://adv/victim/{key}m.json"
    assert uri.join("m.json").within(uri) and not S3Uri("adv", "victim/run").within(uri)


def test_an_s3_uri_needs_the_scheme_and_a_bucket() -> None:
    for bad in ("s3:///key", "https://adv/key", "adv/key"):
        with pytest.raises(ValueError):
            S3Uri.parse(bad)
    assert S3Uri.parse("s3://adv") == S3Uri("adv", "") and S3Uri("adv", "").folder() == S3Uri("adv", "")
    assert S3Uri.parse("s3://adv/a//b").folder() == S3Uri("adv", "a//b/")  # not normalised


def keys(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=s3.bucket).get("Contents", ())
    return {o["Key"]: s3.get_object(Bucket=s3.bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_a_key_holding_a_hash_is_never_cut_there(s3: Any) -> None:
    """The reported defect: the manifest of source s3://adv/victim/run#42/ was taken for the
    key victim/run (urlparse's fragment), and the failed put's clean-up deleted that object."""
    s3.put_object(Bucket=s3.bucket, Key="victim/run", Body=b"someone else's")
    objects = S3Objects(s3)
    uri = f"s3://{s3.bucket}/victim/run#42/m.json"
    assert objects.put(uri, "{}") is True
    assert keys(s3) == {"victim/run": b"someone else's", "victim/run#42/m.json": b"{}"}
    objects.delete(uri)
    assert keys(s3) == {"victim/run": b"someone else's"}


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_keys_are_listed_read_put_and_deleted_as_written(s3: Any, key: str) -> None:
    s3.bucket = f"odd-{ODD_KEYS.index(key)}"  # a bucket per key: the fixture's is per test name
    s3.create_bucket(Bucket=s3.bucket)
    folder = f"jobs/{key}"
    s3.put_object(Bucket=s3.bucket, Key=f"{folder}part-0.parquet", Body=parquet_bytes(parquet_table(3)))
    s3.put_object(Bucket=s3.bucket, Key="jobs/decoy", Body=b"x")  # where a cut key would land
    results = inspect_results(f"s3://{s3.bucket}/{folder}", "pqt", s3)
    assert [f.uri for f in results.files] == [f"s3://{s3.bucket}/{folder}part-0.parquet"] and results.rows == 3
    objects = S3Objects(s3)
    manifest = f"s3://{s3.bucket}/own/{key}m #1?.json"
    assert objects.put(manifest, "{}") and objects.list(f"s3://{s3.bucket}/own/{key}") == [manifest]
    objects.delete(manifest)
    assert set(keys(s3)) == {f"{folder}part-0.parquet", "jobs/decoy"}


# --- every delete path of an apply: only what this run wrote ---------------------------


def steps(uri: str, body: str = '{"entries": []}') -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """As the planner lays out a Redshift load: the manifest, the transaction, its tidy-up."""
    tidy = DeleteObject(uri, "delete the manifest")
    return (
        PutObject(uri, body, "write the manifest"),
        Begin(("BEGIN",), "begin", undo=sql("ROLLBACK", "roll back")),
        sql("COPY t FROM manifest", "load"),
        tidy,
        Commit(("COMMIT",), "publish"),
    ), (tidy,)


def publication(main: tuple[Step, ...], on_failure: tuple[Step, ...] = ()) -> Publication:
    pid = PublicationId(1, 1, 1, "dev", "t", "load")
    return Publication("spec.yaml", 1, "h", pid, "rs", "redshift", "t", "s3://b/", "pqt", 1, (), main, on_failure)


def run(target: Any, s3: Any, main: tuple[Step, ...], on_failure: tuple[Step, ...] = ()) -> list[str]:
    said: list[str] = []

    def listen(kind: str, event: StepEvent) -> None:
        if isinstance(event.result, str):
            said.append(f"{kind}: {event.step.purpose}: {event.result}")

    executor = Executor(target, dialect_for("redshift"), S3Objects(s3), listener=listen, retry_delays=(0.0,))
    executor.run(publication(main, on_failure))
    return said


def test_a_failed_put_deletes_nothing(s3: Any) -> None:
    """A plain saved plan whose manifest key holds other bytes: refused, and those bytes stay."""
    s3.put_object(Bucket=s3.bucket, Key="m/x.json", Body=b"not ours")
    with pytest.raises(PublishFailed, match="already exists with other content; it was not overwritten"):
        run(FakeTarget(fail="never"), s3, *steps(f"s3://{s3.bucket}/m/x.json"))
    assert keys(s3) == {"m/x.json": b"not ours"}


def test_a_failed_copy_deletes_the_manifest_it_wrote_and_nothing_else(s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="m/other.json", Body=b"other")
    target = FakeTarget(fail="COPY")
    with pytest.raises(PublishFailed, match="load"):
        run(target, s3, *steps(f"s3://{s3.bucket}/m/x.json"))
    assert target.ran == ["BEGIN", "COPY t FROM manifest", "ROLLBACK"]
    assert keys(s3) == {"m/other.json": b"other"}


def test_success_deletes_the_manifest_it_wrote(s3: Any) -> None:
    run(FakeTarget(fail="never"), s3, *steps(f"s3://{s3.bucket}/m/x.json"))
    assert keys(s3) == {}


def test_a_retried_transaction_writes_its_manifest_again_and_deletes_it(s3: Any) -> None:
    target = ConflictingTarget(conflicts=1)
    run(target, s3, *steps(f"s3://{s3.bucket}/m/x.json"))
    assert target.ran.count("COPY t FROM manifest") == 2 and keys(s3) == {}


def test_the_plans_own_manifest_left_by_a_killed_apply_is_used_and_deleted(s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="m/x.json", Body=b'{"entries": []}')  # the same plan, killed after its put
    said = run(FakeTarget(fail="never"), s3, *steps(f"s3://{s3.bucket}/m/x.json"))
    assert keys(s3) == {} and any("the plan's own bytes" in s for s in said)


def test_a_delete_of_an_object_this_run_did_not_write_leaves_it(s3: Any) -> None:
    s3.put_object(Bucket=s3.bucket, Key="m/x.json", Body=b"not ours")
    said = run(FakeTarget(fail="never"), s3, (DeleteObject(f"s3://{s3.bucket}/m/x.json", "delete the manifest"),))
    assert keys(s3) == {"m/x.json": b"not ours"} and said == [
        "done: delete the manifest: not written by this run: left alone"
    ]


def test_a_leftover_is_deleted_only_while_its_bytes_are_those_the_plan_saw(s3: Any) -> None:
    seen = hashlib.sha256(b"left").hexdigest()
    s3.put_object(Bucket=s3.bucket, Key="m/left.json", Body=b"left")
    s3.put_object(Bucket=s3.bucket, Key="m/changed.json", Body=b"changed since")
    recover = (
        DeleteObject(f"s3://{s3.bucket}/m/left.json", "delete a leftover", seen),
        DeleteObject(f"s3://{s3.bucket}/m/changed.json", "delete a leftover", seen),
        DeleteObject(f"s3://{s3.bucket}/m/gone.json", "delete a leftover", seen),
    )
    said = run(FakeTarget(fail="never"), s3, recover)
    assert keys(s3) == {"m/changed.json": b"changed since"}
    assert said == ["done: delete a leftover: gone or changed since the plan: left alone"] * 2
