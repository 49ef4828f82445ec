"""The commands' work, without output: load, plan, apply. The CLI prints and exits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from publisher.config import Config
from publisher.connections import Pool, S3Objects
from publisher.errors import Errors, InvalidInput, PublisherError, PublishFailed
from publisher.executor import Executor, Listener
from publisher.plan import Plan, Publication
from publisher.planner import TargetView, names_for, plan_publication
from publisher.relation import Relation
from publisher.results import Results, inspect_results
from publisher.spec import Spec
from publisher.targets.base import ColumnState, TableState
from publisher.vocabulary import REPLACING_ACTIONS


def inspect(spec: Spec, pool: Pool) -> Results:
    """The spec's results, read from metadata; errors placed at the spec."""
    client = pool.s3(spec.results_connection) if spec.results_connection else None
    try:
        return inspect_results(spec.source, spec.input_format, client)
    except InvalidInput as exc:
        raise exc.at(spec.location) from None


def target_view(spec: Spec, pool: Pool) -> TargetView:
    """What the target holds for this spec, read-only."""
    target = pool.target(spec.connection)
    relation = spec.relation
    exists = target.namespace_exists(relation)
    return TargetView(
        namespace_exists=exists,
        table=target.table_state(relation) if exists else None,
        table_names=frozenset(target.table_names(relation)) if exists else frozenset(),
    )


def make_plan(config: Config, specs: list[Spec], pool: Pool, *, offline: bool, now: datetime | None = None) -> Plan:
    """Plan every spec; raises Errors with every problem, and then nothing may run."""
    now = now or datetime.now(UTC)
    problems: list[PublisherError] = []
    publications: list[Publication] = []
    taken: set[str] = set()
    # Tables made by publications planned earlier in this plan, as later ones will find them:
    # a spec may load into a table that an earlier spec creates.
    planned: dict[Relation, TableState] = {}
    for spec in specs:
        try:
            results = inspect(spec, pool)
            view = None if offline else target_view(spec, pool)
            if view is not None and spec.relation in planned:
                view = TargetView(True, planned[spec.relation], view.table_names)
            publication = plan_publication(spec, results, view, now, frozenset(taken))
        except PublisherError as exc:
            problems.append(exc.at(spec.location))
            continue
        except Exception as exc:  # a connection problem during live planning
            problems.append(InvalidInput(f"{spec.connection.label}: {_one_line(exc)}", spec.location))
            continue
        taken.update(names_for(spec.relation.name, publication.stamp))
        if spec.action in REPLACING_ACTIONS:
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


def apply_plan(
    plan: Plan,
    config: Config,
    pool: Pool,
    *,
    dry_run: bool = False,
    listener: Listener | None = None,
    on_publication: Callable[[str, Publication, PublishFailed | None], None] | None = None,
) -> list[Outcome]:
    """Run each publication; one failing does not stop the others (they are independent)."""
    outcomes = []
    for publication in plan.pending:
        connection = config.find(publication.connection_id)
        if on_publication:
            on_publication("start", publication, None)
        try:
            if connection is None:
                raise PublishFailed(f"connection id {publication.connection_id} is not in publisher.yaml")
            target = None if dry_run else pool.target(connection)
            objects = None
            if not dry_run and any(s.kind != "sql" for s in publication.steps + publication.cleanup):
                s3 = config.s3_for(connection)
                assert s3 is not None
                objects = S3Objects(pool.s3(s3))
            executor = Executor(target, objects, dry_run=dry_run)
            if listener:
                executor.listener = listener
            executor.run(publication)
            outcomes.append(Outcome(publication))
        except PublishFailed as exc:
            outcomes.append(Outcome(publication, exc))
        except Exception as exc:  # connecting failed
            outcomes.append(Outcome(publication, PublishFailed(f"{publication.label}: {_one_line(exc)}")))
        if on_publication:
            on_publication("end", publication, outcomes[-1].error)
    return outcomes
