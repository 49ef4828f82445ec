"""The commands' work, without output: load, plan, apply. The CLI prints and exits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from publisher import ledger
from publisher.config import Config
from publisher.connections import Pool, S3Objects
from publisher.dialects import dialect_for
from publisher.errors import Errors, InvalidInput, PublisherError, PublishFailed
from publisher.executor import AlreadyPublished, Executor, Listener
from publisher.plan import Plan, Publication
from publisher.planner import TargetView, names_for, plan_publication
from publisher.relation import Relation
from publisher.results import Results, inspect_results
from publisher.spec import Spec, load_specs
from publisher.targets.base import ColumnState, TableState, Target
from publisher.vocabulary import REPLACING_ACTIONS


def inspect(spec: Spec, pool: Pool) -> Results:
    """The spec's results, read from metadata; errors placed at the spec."""
    client = pool.s3(spec.results_connection) if spec.results_connection else None
    try:
        return inspect_results(spec.source, spec.input_format, client)
    except InvalidInput as exc:
        raise exc.at(spec.location) from None


class LedgerCache:
    """Each connection's ledger, read once per run."""

    def __init__(self) -> None:
        self._entries: dict[int, list[ledger.Entry] | None] = {}

    def entries(self, spec: Spec, target: Target) -> list[ledger.Entry] | None:
        """All rows of the spec's connection's ledger, oldest first; None when it does not exist yet."""
        key = spec.connection.id
        if key not in self._entries:
            home = ledger.relation(spec)
            dialect = dialect_for(spec.target_type)
            if target.namespace_exists(home) and target.table_state(home) is not None:
                rows = ledger.parse(target.fetch(ledger.select_all(dialect, home)))
                self._entries[key] = sorted(rows, key=lambda e: (str(e.published_at), e.state == "done"))
            else:
                self._entries[key] = None
        return self._entries[key]


def target_view(spec: Spec, pool: Pool, ledgers: LedgerCache) -> TargetView:
    """What the target holds for this spec, read-only."""
    target = pool.target(spec.connection)
    relation = spec.relation
    exists = target.namespace_exists(relation)
    table = target.table_state(relation) if exists else None
    entries = ledgers.entries(spec, target)
    mine = tuple(e for e in entries or () if e.identity == ledger.identity(spec))
    interrupted = bool(mine) and mine[-1].state == "pending"
    dialect = dialect_for(spec.target_type)
    names = frozenset(target.table_names(relation)) if exists else frozenset()
    row_count = None
    if interrupted and table is not None and spec.action == "load":
        row_count = int(target.fetch(dialect.count(relation))[0][0])
    locations = {}
    if interrupted and mine[-1].stamp:
        for name in set(names_for(relation.name, mine[-1].stamp)) & names:
            locations[name] = target.table_location(relation.renamed(name)) or ""
    swaps = dialect.location_swap and spec.action == "truncateAndLoad" and exists
    return TargetView(
        namespace_exists=exists,
        table=table,
        table_names=names,
        ledger_exists=entries is not None,
        entries=mine,
        row_count=row_count,
        namespace_location=target.namespace_location(relation) if swaps else None,
        locations=locations,
    )


def make_plan(
    config: Config,
    specs: list[Spec],
    pool: Pool,
    *,
    offline: bool,
    now: datetime | None = None,
    force: bool = False,
) -> Plan:
    """Plan every spec; raises Errors with every problem, and then nothing may run."""
    now = now or datetime.now(UTC)
    problems: list[PublisherError] = []
    publications: list[Publication] = []
    taken: set[str] = set()
    # Tables made by publications planned earlier in this plan, as later ones will find them:
    # a spec may load into a table that an earlier spec creates.
    planned: dict[Relation, TableState] = {}
    ledgers = LedgerCache()
    for spec in specs:
        try:
            results = inspect(spec, pool)
            live = view = None if offline else target_view(spec, pool, ledgers)
            if view is not None and spec.relation in planned:
                view = replace(view, namespace_exists=True, table=planned[spec.relation])
            publication = plan_publication(spec, results, view, now, frozenset(taken), force=force)
        except PublisherError as exc:
            problems.append(exc.at(spec.location))
            continue
        except Exception as exc:  # a connection problem during live planning
            problems.append(InvalidInput(f"{spec.connection.label}: {_one_line(exc)}", spec.location))
            continue
        # What the target holds now, not what earlier publications of this plan will make.
        publication = replace(publication, fingerprint=fingerprint(spec, results, live))
        taken.update(names_for(spec.relation.name, publication.stamp))
        if spec.action in REPLACING_ACTIONS and publication.status == "pending":
            columns = tuple(ColumnState(name, kind.lower()) for name, kind in publication.columns)
            planned[spec.relation] = TableState(columns)
        publications.append(publication)
    if problems:
        raise Errors(problems)
    return Plan(created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"), offline=offline, publications=tuple(publications))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@dataclass
class Outcome:
    publication: Publication
    error: PublishFailed | None = None
    skipped: bool = False  # another apply published it after this plan was made


def apply_plan(
    plan: Plan,
    config: Config,
    pool: Pool,
    *,
    dry_run: bool = False,
    parallel: int = 1,
    listener: Listener | None = None,
    on_publication: Callable[[str, Publication, PublishFailed | None], None] | None = None,
) -> list[Outcome]:
    """Run each pending publication; one failing does not stop the others.

    With ``parallel`` > 1, publications into different tables run at once, each thread on
    connections of its own; publications into one table run one after another, in plan order.
    """

    serial = threading.Lock()

    def run_group(group: list[Publication], connections: Pool) -> list[Outcome]:
        outcomes = []
        for publication in group:
            if on_publication:
                on_publication("start", publication, None)
            outcomes.append(_apply_one(publication, config, connections, dry_run, listener, serial))
            if on_publication:
                on_publication("end", publication, outcomes[-1].error)
        return outcomes

    groups: dict[tuple[object, ...], list[Publication]] = {}
    for publication in plan.pending:
        key = (publication.connection_id, publication.database, publication.requested_table)
        groups.setdefault(key, []).append(publication)
    if parallel <= 1 or len(groups) <= 1:
        return [o for group in groups.values() for o in run_group(group, pool)]

    def in_thread(group: list[Publication]) -> list[Outcome]:
        connections = Pool(config)  # drivers' connections are not shared across threads
        try:
            return run_group(group, connections)
        finally:
            connections.close()

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="publish") as threads:
        finished = list(threads.map(in_thread, groups.values()))
    by_publication = {id(o.publication): o for group in finished for o in group}
    return [by_publication[id(p)] for group in groups.values() for p in group]


def _apply_one(
    publication: Publication,
    config: Config,
    pool: Pool,
    dry_run: bool,
    listener: Listener | None,
    serial: threading.Lock,
) -> Outcome:
    connection = config.find(publication.connection_id)
    try:
        if connection is None:
            raise PublishFailed(f"connection id {publication.connection_id} is not in publisher.yaml")
        target = None if dry_run else pool.target(connection)
        objects = None
        if not dry_run and any(s.kind.endswith("_object") for s in publication.steps + publication.on_failure):
            s3 = config.s3_for(connection)
            assert s3 is not None
            objects = S3Objects(pool.s3(s3))
        executor = Executor(target, objects, dry_run=dry_run, serial=serial)
        if listener:
            executor.listener = listener
        executor.run(publication)
        return Outcome(publication)
    except AlreadyPublished:
        return Outcome(publication, skipped=True)
    except PublishFailed as exc:
        return Outcome(publication, exc)
    except Exception as exc:  # connecting failed
        return Outcome(publication, PublishFailed(f"{publication.label}: {_one_line(exc)}"))


def fingerprint(spec: Spec, results: Results, view: TargetView | None) -> dict[str, object]:
    """What a plan of ``spec`` depends on; a saved plan is refused when any of it changed."""
    table = view.table if view else None
    status = "unknown"
    if view is not None:
        done = [e for e in view.entries if e.state == "done"]
        status = f"{len(view.entries)} rows, last {done[-1].run_id if done else 'none'}"
    return {
        "spec": spec.content_hash,
        "files": [[f.uri, f.size, f.version] for f in results.files],
        "table": [[c.name, c.type] for c in table.columns] if table else None,
        "ledger": status,
    }


def _describe_change(key: str, saved: object, now: object) -> str:
    if key == "files":
        assert isinstance(saved, list) and isinstance(now, list)
        before = {uri: (size, version) for uri, size, version in saved}
        after = {uri: (size, version) for uri, size, version in now}
        changed = [u for u in sorted(set(before) | set(after)) if before.get(u) != after.get(u)]
        shown = ", ".join(
            f"{u.rsplit('/', 1)[-1]} {'added' if u not in before else 'removed' if u not in after else 'modified'}"
            for u in changed[:3]
        )
        return f"result files changed ({shown}{', ...' if len(changed) > 3 else ''})"
    return {
        "spec": "the spec file changed",
        "table": "the target table's definition changed",
        "ledger": "the ledger changed (another apply ran)",
    }.get(key, f"{key} changed")


def stale_reasons(plan: Plan, config: Config, pool: Pool) -> list[str]:
    """Why a saved plan no longer describes the world, one line per change; [] if it does."""
    if plan.offline:
        return ["the plan was made offline (publisher plan --offline): plan again with the targets reachable"]
    reasons = []
    by_file: dict[str, list[Spec]] = {}
    for pub in plan.pending:
        if pub.spec_file not in by_file:
            specs, problems = load_specs([Path(pub.spec_file)], config)
            by_file[pub.spec_file] = specs if not problems else []
        match = [s for s in by_file[pub.spec_file] if ledger.identity(s) == pub.identity]
        if not match:
            reasons.append(f"{pub.spec_file}: {pub.label}: the spec is gone or no longer names this publication")
            continue
        spec = match[0]
        try:
            now = fingerprint(spec, inspect(spec, pool), target_view(spec, pool, LedgerCache()))
        except PublisherError as exc:
            reasons.append(f"{pub.spec_file}: {pub.label}: {exc.message}")
            continue
        for key, saved in pub.fingerprint.items():
            if now.get(key) != saved:
                reasons.append(f"{pub.spec_file}: {pub.label}: {_describe_change(key, saved, now.get(key))}")
    return reasons
