"""Hive: a table's partitions switched to its loaded twin's, one atomic SET LOCATION each.

Run by the executor for a SwitchPartitions step; every fact is read when it runs, so the
same step finishes the work of an apply killed inside it. Order matters for what a kill
leaves behind, and each order below keeps one rule: a folder is deleted only by dropping
the trash table, and only once no partition of the table points at it.

A switch also empties folders: each twin's partitions live in one folder named after the
twin (``<table>__new_<stamp>``), which the table's partitions point into until later
switches replace them all. Once this switch leaves no partition in such a folder, the trash
takes the whole folder in place of the replaced partition's, and deletes it with the rest.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from publisher.dialects import Dialect
from publisher.dialects.hive import DEFAULT_PARTITION, partition_values
from publisher.engines.hive_describe import parse_location
from publisher.model.errors import PublishFailed
from publisher.model.location import Location
from publisher.model.plan import SwitchPartitions
from publisher.model.relation import Relation
from publisher.model.target import Target


class SwitchRefused(PublishFailed):
    """Found before anything moved: the earlier steps may be undone as usual."""


def switch_partitions(target: Target, dialect: Dialect, step: SwitchPartitions) -> str:
    """Switch, check, then drop the twin and the trash; returns what it did, in one line."""
    table, twin, trash = (Relation(step.database, None, n) for n in (step.table, step.twin, step.trash))
    names = target.table_names(table)
    replaced: list[str] = []
    added: list[str] = []
    dropped: list[str] = []
    if step.twin in names:
        new = _partitions(target, dialect, twin)
        released = _refuse_unplanned(target, dialect, step, names, new)
        old = set(_partitions(target, dialect, table))
        in_trash = set(_partitions(target, dialect, trash))
        leaving = {p for p in old if p in new or step.drop_others}
        emptied = _emptied_twin_folders(target, dialect, table, step, leaving, sorted(old - leaving))
        for path in new:
            spec, at = _spec(dialect, path), step.twin_location.child(path)
            if path in old:
                current = _partition_location(target, dialect, table, path)
                if current == at:
                    continue  # switched by the apply this one finishes
                if path not in in_trash:
                    handed = emptied.get(path, current)  # the whole twin folder once none stays in it
                    into = dialect.location_literal(handed)
                    target.execute(f"ALTER TABLE {dialect.table(trash)} ADD PARTITION {spec} LOCATION {into}")
                target.execute(
                    f"ALTER TABLE {dialect.table(table)} PARTITION {spec} SET LOCATION {dialect.location_literal(at)}"
                )
                replaced.append(path)
            else:
                target.execute(
                    f"ALTER TABLE {dialect.table(table)} ADD PARTITION {spec} LOCATION {dialect.location_literal(at)}"
                )
                added.append(path)
        if step.drop_others:
            for path in sorted(old - set(new)):
                if path in emptied and path not in in_trash:
                    folder = dialect.location_literal(emptied[path])
                    target.execute(
                        f"ALTER TABLE {dialect.table(trash)} ADD PARTITION {_spec(dialect, path)} LOCATION {folder}"
                    )
                # A managed table's DROP PARTITION deletes the folder: nothing else points at it.
                target.execute(f"ALTER TABLE {dialect.table(table)} DROP PARTITION {_spec(dialect, path)}")
                dropped.append(path)
        _check_rows(target, dialect, table, new, step)
        _release_twin(target, dialect, twin, new, released)
    if step.trash in names:
        _check_unused(target, dialect, table, trash, checked=set(emptied.values()) if step.twin in names else set())
        target.execute(dialect.drop_table(trash))
    return _summary(replaced, added, dropped)


def _refuse_unplanned(
    target: Target, dialect: Dialect, step: SwitchPartitions, names: Collection[str], new: list[str]
) -> Location:
    """Before anything moves: the twin's partitions are the plan's, none NULL, each where the
    plan put it (or already released, by the apply this one finishes, into the trash's folder
    ``released``, which it returns), and the trash is there."""
    nulls = [p for p in new if DEFAULT_PARTITION in p]
    if nulls:
        raise SwitchRefused(
            f"rows with a NULL partition value ({', '.join(nulls)}): Hive keeps them in {DEFAULT_PARTITION}, "
            "which publisher does not switch; nothing was switched (fill the partition columns)"
        )
    if step.expected and set(new) != set(step.expected):
        unlisted, missing = sorted(set(new) - set(step.expected)), sorted(set(step.expected) - set(new))
        raise SwitchRefused(
            f"the loaded rows' partitions differ from the plan's (not listed: {', '.join(unlisted[:5]) or '-'}; "
            f"listed, not found: {', '.join(missing[:5]) or '-'}): nothing was switched"
        )
    if step.trash not in names:
        raise SwitchRefused(f"{step.trash} is missing: nothing was switched")
    released = _location(target, Relation(step.database, None, step.trash)).child("released")
    twin = Relation(step.database, None, step.twin)
    for path in new:
        at = _partition_location(target, dialect, twin, path)
        if at not in (step.twin_location.child(path), released.child(path)):
            raise SwitchRefused(f"{step.twin} partition {path} is at {at}, not under {step.twin_location} as planned")
    return released


def _release_twin(target: Target, dialect: Dialect, twin: Relation, new: list[str], released: Location) -> None:
    """The twin must not take the new folders with it: point it (and its partitions) inside
    the trash's folder, which holds nothing, then drop it."""
    for path in new:
        target.execute(
            f"ALTER TABLE {dialect.table(twin)} PARTITION {_spec(dialect, path)} "
            f"SET LOCATION {dialect.location_literal(released.child(path))}"
        )
    target.execute(dialect.set_location(twin, released))
    target.execute(dialect.drop_table(twin))


def _emptied_twin_folders(
    target: Target, dialect: Dialect, table: Relation, step: SwitchPartitions, leaving: set[str], staying: list[str]
) -> dict[str, Location]:
    """The folders of earlier twins that no partition of the table uses once the partitions
    ``leaving`` are replaced or dropped: by one leaving partition each, which hands the whole
    folder to the trash. Only folders the publisher made for this table are taken (named
    after one of its twins, beside this switch's twin, not the twin being switched in); the
    locations of the partitions ``staying`` are read only while such a folder is found, and
    a folder that holds one of them is left."""
    home = step.twin_location.parent
    twin_name = re.compile(re.escape(step.table) + r"__new_\d{14}", re.IGNORECASE)
    carrier: dict[Location, str] = {}  # folder -> a leaving partition in it
    for path in sorted(leaving):
        folder = _partition_location(target, dialect, table, path).base_of(path)
        if folder is None:
            continue  # a partition stored elsewhere (set by hand): its folder is its own
        if folder.parent == home and twin_name.fullmatch(folder.name) and folder != step.twin_location:
            carrier.setdefault(folder, path)
    for path in staying:
        if not carrier:
            break
        at = _partition_location(target, dialect, table, path)
        for folder in [f for f in carrier if at.inside(f)]:
            del carrier[folder]
    return {path: folder for folder, path in carrier.items()}


def _partitions(target: Target, dialect: Dialect, relation: Relation) -> list[str]:
    return [str(row[0]) for row in target.fetch(f"SHOW PARTITIONS {dialect.table(relation)}")]


def _spec(dialect: Dialect, path: str) -> str:
    """PARTITION (`col`='value', ...): values as string literals, which Hive casts to the column's type."""
    return "(" + ", ".join(f"{dialect.quote(n)}={dialect.literal(v)}" for n, v in partition_values(path)) + ")"


def _partition_location(target: Target, dialect: Dialect, relation: Relation, path: str) -> Location:
    rows = target.fetch(f"DESCRIBE FORMATTED {dialect.table(relation)} PARTITION {_spec(dialect, path)}")
    found = parse_location(rows)  # the partition's Location comes before the table's
    if not found:
        raise PublishFailed(f"no location for partition {path} of {relation}")
    return found


def _location(target: Target, relation: Relation) -> Location:
    found = target.table_location(relation)
    if found is None:
        raise PublishFailed(f"no location for {relation}")
    return found


def _check_rows(target: Target, dialect: Dialect, table: Relation, new: list[str], step: SwitchPartitions) -> None:
    """The table now reads the twin's rows in the twin's partitions (all of it, where the
    others were dropped)."""
    if step.rows is None:
        return
    query = f"SELECT COUNT(*) FROM {dialect.table(table)}"
    if not step.drop_others:
        if not new:
            return
        each = (
            "(" + " AND ".join(f"{dialect.quote(n)} = {dialect.literal(v)}" for n, v in partition_values(p)) + ")"
            for p in new
        )
        query += " WHERE " + " OR ".join(each)
    found = int(target.fetch(query)[0][0])
    if found != step.rows:
        raise PublishFailed(f"the table holds {found:,} rows in the switched partitions, expected {step.rows:,}")


def _check_unused(target: Target, dialect: Dialect, table: Relation, trash: Relation, checked: set[Location]) -> None:
    """Refuse to drop the trash while a partition of the table points at one of its folders,
    or into a whole twin folder it holds (unless this run read every staying partition:
    ``checked``; an apply that finishes a killed one reads them all again)."""
    current = _partitions(target, dialect, table)
    for path in _partitions(target, dialect, trash):
        held = _partition_location(target, dialect, trash, path)
        whole = held.base_of(path) is None
        if whole and held not in checked:
            users = [p for p in current if _partition_location(target, dialect, table, p).inside(held)]
        else:
            users = [p for p in [path] if p in current and _partition_location(target, dialect, table, p) == held]
        if users:
            raise PublishFailed(
                f"partition {users[0]} of {table} still uses {held}: {trash} is kept (drop it once the "
                "partition points elsewhere)"
            )


def _summary(replaced: list[str], added: list[str], dropped: list[str]) -> str:
    parts = [f"{len(replaced)} replaced", f"{len(added)} added", f"{len(dropped)} dropped"]
    shown = [
        f"{what}: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}"
        for what, paths in (("replaced", replaced), ("added", added), ("dropped", dropped))
        if paths
    ]
    return "partitions " + ", ".join(parts) + (f" ({'; '.join(shown)})" if shown else "")
