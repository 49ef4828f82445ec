"""Every table name the publisher makes for itself is refused as a spec's table, on both
targets, in any letter case, when validating (so also when planning), in one line at the
table's value. The names come from the code that makes them, not from a copy of the patterns."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.dialects.hive import Hive
from publisher.dialects.redshift import Redshift
from publisher.inputs.config import load_config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.plan import TakeLock
from publisher.model.relation import Relation
from publisher.planning import ledger
from publisher.planning.view import names_for

CASES = Path(__file__).parent / "cases"  # its publisher.yaml: id 1 embedded Hive, id 3 Redshift
STAMP = "20261128120000"
SPEC = {
    "hive": "connection: {{id: 1}}\npath: [default]\ntable: {table}\n",
    "redshift": "connection: {{id: 3}}\npath: [dev]\ntable: {table}\nsource: s3://results-bucket/31/27/\n",
}
COMMON = "jobGroup: 31\nflowNodeId: 27\naction: load\ninputFormat: pqt\n"


def _load(tmp_path: Path, target: str, table: str) -> tuple[list[Spec], list[str]]:
    file = tmp_path / "spec.yaml"
    file.write_text(COMMON + SPEC[target].format(table=table))
    specs, problems = load_specs([file], load_config(CASES / "publisher.yaml"))
    return specs, [str(p).replace(f"{tmp_path}/", "") for p in problems]


def _redshift_lock_name(tmp_path: Path) -> str:
    (spec,) = _load(tmp_path, "redshift", "orders")[0]
    return ledger.lock_relation(spec).name


def _made_names(tmp_path: Path) -> dict[str, str]:
    """Each kind of table the publisher makes, for a target table ``orders``, named by the code that makes it."""
    _, stage, new, old = names_for("orders", STAMP)
    hive_ledger = Relation("publisher", None, "publications")
    (take,) = Hive().table_lock(Relation("default", None, "orders"), hive_ledger)
    assert isinstance(take, TakeLock)
    return {
        "staging table (Hive external, Redshift merge)": stage,
        "replacement table (twin, dropAndLoad's new)": new,
        "set-aside table (dropAndLoad's old, a partition switch's trash)": old,
        "Redshift's temporary staging table": Redshift().temp_stage_name("orders"),
        "Hive's table lock": take.lock,
        "Redshift's lock table beside the ledger": _redshift_lock_name(tmp_path),
        "the Hive ledger's compaction lock": ledger.compact(Hive(), hive_ledger).lock,
    }


def _cases(name: str) -> list[str]:
    return [name, name.upper(), name[:1].upper() + name[1:]]


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_every_name_the_publisher_makes_is_refused_in_every_case(tmp_path: Path, target: str) -> None:
    for kind, made in _made_names(tmp_path).items():
        for table in _cases(made):
            specs, problems = _load(tmp_path, target, table)
            assert specs == [], f"{kind}: {table!r} was accepted on {target}"
            assert len(problems) == 1, (kind, problems)
            line = SPEC[target].splitlines().index("table: {table}") + COMMON.count("\n") + 1
            assert problems[0].startswith(f"spec.yaml:{line}:8: error: table is reserved: publisher names its ")
            assert problems[0].endswith(f'(found "{table}")'), problems[0]


def test_redshift_lock_tables_are_refused_in_any_schema(tmp_path: Path) -> None:
    lock = _redshift_lock_name(tmp_path)
    assert lock.startswith("lock_") and lock.endswith("_orders")
    for table in (f"publisher.{lock}", f"public.{lock.upper()}", f"Sales.{lock}"):
        specs, problems = _load(tmp_path, "redshift", table)
        assert specs == [] and len(problems) == 1 and "lock_<hash>_<table>" in problems[0], problems


def test_the_ledger_is_refused_where_it_lives(tmp_path: Path) -> None:
    assert _load(tmp_path, "hive", "publications")[1] == []  # the default database holds no ledger
    (tmp_path / "spec.yaml").write_text(COMMON + "connection: {id: 1}\npath: [publisher]\ntable: Publications\n")
    specs, found = load_specs([tmp_path / "spec.yaml"], load_config(CASES / "publisher.yaml"))
    assert specs == [] and len(found) == 1 and "is the publication ledger" in str(found[0])


@pytest.mark.parametrize("target", ["hive", "redshift"])
@pytest.mark.parametrize(
    "table",
    [
        f"orders_{STAMP}",  # what create and createAndLoad make: the user's table, loaded later
        "stage",
        "orders_stage",
        "orders__stages",
        "orders__new",
        "lock_events",
        "lock_0123456789ab",  # no table after the hash
        "lock_0123456789xyz_orders",
        "orders__locked",
        "compaction",
        "publications_compaction",
    ],
)
def test_names_that_only_look_alike_are_accepted(tmp_path: Path, target: str, table: str) -> None:
    specs, problems = _load(tmp_path, target, table)
    assert problems == [] and len(specs) == 1
