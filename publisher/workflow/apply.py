"""Applying a plan: its publications in threads, those into one table one after another."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from publisher.apply import lineage
from publisher.apply.executor import AlreadyPublished, Executor, Listener, StepEvent
from publisher.dialects import dialect_for
from publisher.engines.pool import Pool, S3Objects
from publisher.inputs.config import Config
from publisher.model.errors import PlanStale, PublishFailed, first_line
from publisher.model.plan import DeleteObject, Guard, Plan, Publication, PutObject, Statement


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
    run_id: str | None = None,
    serial: threading.Lock | None = None,
) -> list[Outcome]:
    """Run each pending publication; one failing does not stop the others.

    With ``parallel`` > 1, publications into different tables run at once, each thread on
    connections of its own; publications into one table run one after another, in plan order.
    ``run_id``: the id the ledger rows carry (the server's session id); default, a new one per
    publication. ``serial``: the lock of statements that run alone, when other applies run in
    this process at the same time (the server's).
    """

    serial = serial or threading.Lock()
    events = None
    if not dry_run and plan.pending and lineage.enabled(config.lineage):
        events = lineage.Lineage(config, _lineage_warning(listener))

    def run_group(group: list[Publication], connections: Pool) -> list[Outcome]:
        outcomes = []
        for publication in group:
            if on_publication:
                on_publication("start", publication, None)
            outcomes.append(_apply_one(publication, config, connections, dry_run, listener, serial, run_id, events))
            if on_publication:
                on_publication("end", publication, outcomes[-1].error)
        return outcomes

    try:
        return _run_groups(plan, config, pool, parallel, run_group)
    finally:
        if events is not None:
            events.close()


def _lineage_warning(listener: Listener | None) -> lineage.Warn:
    """A lineage event not sent: one warning, through the listener as the steps' warnings go."""

    def warn(publication: Publication, text: str) -> None:
        if listener:
            listener("warning", StepEvent(publication, 0, Statement((), "send its OpenLineage events"), 0.0, text))

    return warn


def _run_groups(
    plan: Plan, config: Config, pool: Pool, parallel: int, run_group: Callable[[list[Publication], Pool], list[Outcome]]
) -> list[Outcome]:
    groups: dict[tuple[object, ...], list[Publication]] = {}
    for publication in plan.pending:
        key = (publication.id.connection_id, publication.database, publication.id.table)
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
    run_id: str | None = None,
    events: lineage.Lineage | None = None,
) -> Outcome:
    run_id = run_id or uuid.uuid4().hex
    if publication.status != "pending":
        events = None  # published before: its apply finishes steps left, and reports nothing new
    if events is not None:
        listener = _reporting_start(publication, run_id, events, listener)
    outcome = _run_one(publication, config, pool, dry_run, listener, serial, run_id)
    if events is not None and not outcome.skipped:
        error = outcome.error
        events.finish(publication, run_id, error.message if error else None, aborted=isinstance(error, PlanStale))
    return outcome


def _reporting_start(
    publication: Publication, run_id: str, events: lineage.Lineage, listener: Listener | None
) -> Listener:
    """The listener, and START sent once the publication's guard found it not published yet (an
    already published one sends nothing), or at its first step where it has no guard."""
    guarded = any(isinstance(s, Guard) for s in publication.steps)

    def listen(kind: str, event: StepEvent) -> None:
        if listener:
            listener(kind, event)
        if event.index and ((kind == "done" and isinstance(event.step, Guard)) or (kind == "start" and not guarded)):
            events.start(publication, run_id)

    return listen


def _run_one(
    publication: Publication,
    config: Config,
    pool: Pool,
    dry_run: bool,
    listener: Listener | None,
    serial: threading.Lock,
    run_id: str,
) -> Outcome:
    connection = config.find(publication.id.connection_id)
    try:
        if connection is None:
            raise PublishFailed(f"connection id {publication.id.connection_id} is not in publisher.yaml")
        target = None if dry_run else pool.target(connection)
        objects = None
        if not dry_run and any(
            isinstance(s, PutObject | DeleteObject) for s in publication.steps + publication.on_failure
        ):
            s3 = config.s3_for(connection)
            assert s3 is not None
            objects = S3Objects(pool.s3(s3))
        dialect = dialect_for(publication.target_type).for_engine(target.product() if target else None)
        executor = Executor(target, dialect, objects, dry_run=dry_run, serial=serial, run_id=run_id)
        if listener:
            executor.listener = listener
        executor.run(publication)
        return Outcome(publication)
    except AlreadyPublished:
        return Outcome(publication, skipped=True)
    except PublishFailed as exc:
        return Outcome(publication, exc)
    except Exception as exc:  # connecting failed
        return Outcome(publication, PublishFailed(f"{publication.label}: {first_line(exc)}"))
