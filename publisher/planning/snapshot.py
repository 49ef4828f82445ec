"""What live planning reads of the targets: each fact once per run, shared by every spec.

A namespace (Hive database, Redshift schema) is read once: whether it exists, its tables'
names and, where the target can answer in one query, every table's columns; the ledger of
each connection once, and of it only the rows of the job groups planned; a Redshift
cluster's slices once. Planning then works from these facts and asks the engine nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from publisher.dialects import dialect_for
from publisher.inputs.config import Connection
from publisher.inputs.spec import Spec
from publisher.model.location import Location
from publisher.model.relation import Relation
from publisher.model.target import HiveTable, TableState, Target
from publisher.planning import ledger, retention
from publisher.planning.actions import STRATEGIES
from publisher.planning.view import TargetView, names_for

LOCK_TABLE = re.compile(r"lock_[0-9a-f]{12}_\w+")
"""A target table's lock table beside the ledger (planning/ledger.py lock_relation)."""


Entry = ledger.Entry
Entries = tuple[Entry, ...]
Retention = tuple[Entries, dict[str, TableState | None], tuple[tuple[str, str], ...]]
"""What retention plans from: the ledger's rows of the tables made, those tables, the views."""


class Targets(Protocol):
    """Opens the target of a connection (engines.pool.Pool does, once per run)."""

    def target(self, connection: Connection) -> Target: ...


@dataclass
class Namespace:
    exists: bool
    names: frozenset[str] = frozenset()
    tables: dict[str, TableState] | None = None  # every table's state, where read in bulk
    location: Location | None = None
    location_read: bool = False


@dataclass
class Snapshot:
    pool: Targets
    planned: Sequence[Spec] = ()
    """The specs of this run: the ledger is read for their job groups at once."""
    _namespaces: dict[tuple[int, str, str | None], Namespace] = field(default_factory=dict)
    _tables: dict[tuple[int, Relation], TableState | None] = field(default_factory=dict)
    _ledgers: dict[int, list[ledger.Entry] | None] = field(default_factory=dict)
    _ledger_lacks: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _ledger_partitioned: dict[int, bool] = field(default_factory=dict)
    _ledger_groups: dict[int, frozenset[int]] = field(default_factory=dict)
    _slices: dict[int, int | None] = field(default_factory=dict)
    _substitution: dict[int, str | None] = field(default_factory=dict)
    _product: dict[int, str | None] = field(default_factory=dict)
    _case: dict[int, bool | None] = field(default_factory=dict)
    _table_rows: dict[tuple[int, str, str], Entries] = field(default_factory=dict)
    _views: dict[tuple[int, str, str | None], tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def namespace(self, spec: Spec, relation: Relation) -> Namespace:
        key = (spec.connection.id, relation.database, relation.schema)
        if key not in self._namespaces:
            target = self.pool.target(spec.connection)
            if not target.namespace_exists(relation):
                self._namespaces[key] = Namespace(False)
            else:
                names = frozenset(target.table_names(relation))
                self._namespaces[key] = Namespace(True, names, target.table_states(relation))
        return self._namespaces[key]

    def table(self, spec: Spec, relation: Relation) -> TableState | None:
        space = self.namespace(spec, relation)
        if not space.exists or relation.name not in space.names:
            return None
        if space.tables is not None:
            # A name among the namespace's relations but not among its tables is a view.
            return space.tables.get(relation.name) or TableState((), view=True)
        key = (spec.connection.id, relation)
        if key not in self._tables:
            self._tables[key] = self.pool.target(spec.connection).table_state(relation, exists=True)
        return self._tables[key]

    def namespace_location(self, spec: Spec, relation: Relation) -> Location | None:
        space = self.namespace(spec, relation)
        if space.exists and not space.location_read:
            space.location = self.pool.target(spec.connection).namespace_location(relation)
            space.location_read = True
        return space.location

    def ledger(self, spec: Spec) -> list[ledger.Entry] | None:
        """The rows of the spec's connection's ledger of the job groups planned (the spec's
        among them), oldest first; None when the ledger does not exist yet.

        Not the whole ledger: it keeps every publication's rows, and reading all of them made
        planning slower with every publication (bench/ledger_history.py). A publication's rows
        all carry its job group, so each planned publication is seen with all its rows, the
        'pending' row of an interrupted publish among them, as recovery needs."""
        key = spec.connection.id
        if key not in self._ledgers:
            home = ledger.relation(spec)
            state = self.table(spec, home)
            if state is None:
                self._ledgers[key] = None
                return None
            self._ledger_lacks[key] = ledger.lacking(tuple(c.name for c in state.columns))
            self._ledger_partitioned[key] = ledger.WRITTEN in state.partition_columns
            self._ledger_groups[key] = frozenset()
            self._ledgers[key] = []
        entries = self._ledgers[key]
        if entries is None or spec.job_group in self._ledger_groups[key]:
            return entries
        # First read: every planned job group of this connection at once; a spec viewed that was
        # not among the planned ones (or not given) costs a read of its own job group.
        groups = frozenset({spec.job_group} | {s.job_group for s in self.planned if s.connection.id == key})
        groups -= self._ledger_groups[key]
        dialect = dialect_for(spec.target_type)
        text = ledger.select_job_groups(dialect, ledger.relation(spec), groups, self._ledger_lacks[key])
        rows = ledger.parse(self.pool.target(spec.connection).fetch(text))
        entries = sorted([*entries, *rows], key=lambda e: (str(e.published_at), e.state == "done"))
        self._ledgers[key] = entries
        self._ledger_groups[key] |= groups
        return entries

    def slices(self, spec: Spec) -> int | None:
        """The slices of the spec's connection's cluster (Redshift), read once; None where unknown."""
        key = spec.connection.id
        if key not in self._slices:
            self._slices[key] = self.pool.target(spec.connection).slice_count()
        return self._slices[key]

    def substitution(self, spec: Spec) -> str | None:
        """Why the spec's connection would not run SQL text as sent, read once; None: it does."""
        key = spec.connection.id
        if key not in self._substitution:
            self._substitution[key] = self.pool.target(spec.connection).substitution()
        return self._substitution[key]

    def product(self, spec: Spec) -> str | None:
        """The spec's connection's engine, product and version, read once; None where unknown."""
        key = spec.connection.id
        if key not in self._product:
            self._product[key] = self.pool.target(spec.connection).product()
        return self._product[key]

    def keeps_case(self, spec: Spec) -> bool | None:
        """Whether the spec's connection keeps quoted names' case (Redshift's
        enable_case_sensitive_identifier), read once; None where the engine has no such setting."""
        key = spec.connection.id
        if key not in self._case:
            self._case[key] = self.pool.target(spec.connection).keeps_quoted_case()
        return self._case[key]

    def table_rows(self, spec: Spec) -> Entries:
        """Every ledger row of the spec's table name on its connection, whatever the job group
        or project, oldest first; read once per table, only where retention or the recovery of
        an interrupted load needs it."""
        key = (spec.connection.id, spec.relation.database, spec.id.table)
        if key not in self._table_rows:
            found: Entries = ()
            if self.ledger(spec) is not None:
                dialect = dialect_for(spec.target_type)
                lacks = self._ledger_lacks[spec.connection.id]
                text = ledger.select_where(dialect, ledger.relation(spec), "table_name", spec.id.table, lacks)
                found = ledger.in_publication_order(ledger.parse(self.pool.target(spec.connection).fetch(text)))
            self._table_rows[key] = found
        return self._table_rows[key]

    def made(self, spec: Spec) -> Entries:
        """Retention: the ledger's rows of the timestamped tables the publisher made for the
        spec's table on its connection and project ('done' and 'retired', whatever the job
        group), oldest first."""
        return tuple(e for e in self.table_rows(spec) if retention.made_for(e, spec))

    def published_since(self, spec: Spec, since: Entry) -> Entries:
        """The publications into the spec's table recorded done after ``since`` (an interrupted
        one), by any job group or project: what else changed the table's rows since."""
        mine = spec.id
        return tuple(
            e
            for e in self.table_rows(spec)
            if e.state == "done"
            and (e.database_name, e.published_table) == (mine.database, mine.table)
            and str(e.published_at) > str(since.published_at)
        )

    def views(self, spec: Spec) -> tuple[tuple[str, str], ...]:
        """Retention: the views of the spec's namespace and their SQL, where the dialect lists
        them (views not bound to their tables); read once per namespace."""
        relation = spec.relation
        key = (spec.connection.id, relation.database, relation.schema)
        if key not in self._views:
            dialect = dialect_for(spec.target_type)
            query = dialect.views_query(relation)
            found: list[tuple[str, str]] = []
            if query is not None and self.namespace(spec, relation).exists:
                target = self.pool.target(spec.connection)
                for name in dialect.view_names(target.fetch(query)):
                    rows = target.fetch(dialect.view_text_query(relation.renamed(name)))
                    found.append((name, "\n".join(" ".join(str(c) for c in row) for row in rows)))
            self._views[key] = tuple(found)
        return self._views[key]

    def _retention(self, spec: Spec) -> Retention:
        """What retention plans from, read only for specs with keepLast or keepFor."""
        if spec.keep_last is None and spec.keep_for is None:
            return (), {}, ()
        made = self.made(spec)
        names = self.namespace(spec, spec.relation).names
        tables: dict[str, TableState | None] = {}
        for entry in made:
            name = entry.published_table.rsplit(".", 1)[-1]
            if entry.state == "done" and name not in tables:
                tables[name] = self.table(spec, spec.relation.renamed(name)) if name in names else None
        return made, tables, self.views(spec)

    def _traces(self, spec: Spec) -> tuple[str, ...]:
        return self._lock_tables(spec) + self._tables_made(spec)

    def _tables_made(self, spec: Spec) -> tuple[str, ...]:
        """The spec's table, or the timestamped tables of its name, where the publisher's mark
        says it created them (Hive: publisher.made; its lock tables go with each publication)."""
        relation = spec.relation
        names = self.namespace(spec, relation).names
        stamped = re.compile(re.escape(relation.name) + r"_\d{14}")
        candidates = [relation.name, *sorted(n for n in names if stamped.fullmatch(n))[-3:]]
        made = []
        for name in candidates:
            table = self.table(spec, relation.renamed(name))
            if table is not None and table.of(HiveTable).made_by_publisher:
                made.append(f"{name} (made by publisher)")
        return tuple(made)

    def _lock_tables(self, spec: Spec) -> tuple[str, ...]:
        """What only an apply leaves, found where the ledger is missing: the lock tables beside
        where it was (Redshift keeps one per target table, holding the publications' 'done'
        rows). Names alone prove nothing: a table made by hand may look like a timestamped one,
        and a hand-written swap may name its twin as the publisher does."""
        home = ledger.relation(spec)
        return tuple(sorted(n for n in self.namespace(spec, home).names if LOCK_TABLE.fullmatch(n))[:3])

    def view(self, spec: Spec) -> TargetView:
        """What the target holds for this spec, read-only."""
        relation = spec.relation
        space = self.namespace(spec, relation)
        table = self.table(spec, relation)
        entries = self.ledger(spec)
        mine = tuple(e for e in entries or () if e.id == spec.id and ledger.owned(e, spec.project))
        elsewhere = tuple(e for e in entries or () if e.state == "done" and ledger.same_elsewhere(e, spec))
        publishes = [e for e in mine if e.state != "retired"]  # retention's rows carry the retiring spec's id
        interrupted = bool(publishes) and publishes[-1].state == "pending"
        dialect = dialect_for(spec.target_type)
        strategy = STRATEGIES[spec.action]
        reads = strategy.reads
        target: Target = self.pool.target(spec.connection)
        row_count = None
        since: Entries = ()
        if interrupted and table is not None and "row_count" in reads:
            row_count = int(target.fetch(dialect.count(relation))[0][0])
            since = self.published_since(spec, publishes[-1])
        locations: dict[str, Location] = {}
        if interrupted and publishes[-1].stamp and "locations" in reads:
            for name in set(names_for(relation.name, publishes[-1].stamp)) & space.names:
                # Read now, not from a bulk read: where a swap left the table matters exactly.
                found = target.table_location(relation.renamed(name))
                if found is not None:
                    locations[name] = found
        if table is not None and table.partition_columns and "partitions" in reads:
            rows = target.fetch(f"SHOW PARTITIONS {dialect.table(relation)}")
            table = replace(table, partitions=tuple(sorted(str(r[0]) for r in rows)))
        wants_location = dialect.replace_via == "location_swap" and "namespace_location" in reads and space.exists
        traces = () if entries is not None else self._traces(spec)
        made, made_tables, views = self._retention(spec)
        return TargetView(
            namespace_exists=space.exists,
            ledger_traces=traces,
            table=table,
            table_names=space.names,
            ledger_exists=entries is not None,
            ledger_lacks=self._ledger_lacks.get(spec.connection.id, ()),
            ledger_partitioned=self._ledger_partitioned.get(spec.connection.id, False),
            entries=mine,
            elsewhere=elsewhere,
            row_count=row_count,
            published_since=since,
            namespace_location=self.namespace_location(spec, relation) if wants_location else None,
            locations=locations,
            slices=self.slices(spec) if strategy.loads_rows else None,  # advice on loading the results
            substitution=self.substitution(spec),
            engine=self.product(spec),
            keeps_case=self.keeps_case(spec),
            made=made,
            made_tables=made_tables,
            views=views,
        )
