"""What a ledger compaction does with the partitions it finds (apply/ledger_compaction.work);
the engines' side is tests/integration/test_ledger_compaction.py."""

from __future__ import annotations

from datetime import UTC, datetime

from publisher.apply.ledger_compaction import Work, work
from publisher.planning import ledger

NOW = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)


def test_only_days_before_yesterday_are_copied() -> None:
    found = ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]
    assert work(found, NOW) == Work(drop=(), copy=("2026-12-07", "2026-12-08"), last_day="2026-12-08")


def test_nothing_to_do_while_every_day_is_open() -> None:
    assert not work(["2026-12-09", "2026-12-10"], NOW)
    assert not work([], NOW)


def test_a_young_compaction_drops_nothing_and_copies_nothing_again() -> None:
    found = ["compacted-2026-12-08-20261210090000", "2026-12-07", "2026-12-08", "2026-12-10"]
    assert not work(found, NOW)  # made 30 minutes ago: a reader may still have listed the days it copied


def test_a_settled_compaction_drops_what_it_holds() -> None:
    found = ["compacted-2026-12-08-20261210080000", "2026-12-07", "2026-12-08", "2026-12-10"]
    assert work(found, NOW) == Work(drop=("2026-12-07", "2026-12-08"), copy=(), held_by=found[0])


def test_a_newly_closed_day_is_copied_with_the_compaction_and_what_it_holds_is_dropped() -> None:
    made = "compacted-2026-12-06-20261208010000"
    found = [made, "2026-12-05", "2026-12-06", "2026-12-07", "2026-12-08", "2026-12-09"]
    assert work(found, NOW) == Work(
        drop=("2026-12-05", "2026-12-06"), copy=("2026-12-07", "2026-12-08", made), last_day="2026-12-08", held_by=made
    )


def test_a_young_compaction_is_copied_again_with_its_days_when_a_new_day_closes() -> None:
    """Nothing is dropped before it is settled: its days are copied again, each row once (DISTINCT)."""
    made = "compacted-2026-12-07-20261210090000"
    found = [made, "2026-12-07", "2026-12-08"]
    assert work(found, NOW) == Work(drop=(), copy=("2026-12-07", "2026-12-08", made), last_day="2026-12-08")


def test_the_older_of_two_compactions_is_dropped_once_the_newer_is_settled() -> None:
    """An apply killed between its copy and the next compaction's drop leaves two."""
    old, new = "compacted-2026-12-05-20261207010000", "compacted-2026-12-07-20261209010000"
    assert work([old, new, "2026-12-06"], NOW) == Work(drop=("2026-12-06", old), copy=(), held_by=new)


def test_partitions_of_other_names_are_left_alone() -> None:
    found = ["__HIVE_DEFAULT_PARTITION__", "legacy", "2026-12-10", "2026-13-45", "compacted-2026-12-01-20261299999999"]
    assert not work(found, NOW)


def test_when_the_compaction_lacks_rows_of_what_it_would_drop_everything_is_copied_again() -> None:
    """A row written late into a copied day (a clock far behind), or a compaction whose apply
    was killed before its count: the drop's count check fails, and work(recopy=True) follows."""
    made = "compacted-2026-12-07-20261209010000"
    found = [made, "2026-12-06", "2026-12-07", "2026-12-10"]
    assert work(found, NOW).drop == ("2026-12-06", "2026-12-07")
    again = work(found, NOW, recopy=True)
    assert again == Work(drop=(), copy=("2026-12-06", "2026-12-07", made), last_day="2026-12-07")
    assert not work([made], NOW, recopy=True)  # nothing to merge it with


def test_a_row_read_from_a_compaction_and_from_the_day_it_copied_is_one_entry() -> None:
    row = (
        1,
        2,
        3,
        "db",
        "t",
        "load",
        "done",
        "t",
        5,
        None,
        "20261201000000",
        None,
        "s.yaml",
        "h",
        "e30=",
        "r",
        "x",
        None,
    )
    other = (*row[:6], "pending", *row[7:])
    assert ledger.parse([row, other, row]) == ledger.parse([row, other])
    assert len(ledger.parse([row, other, row])) == 2
