"""The commands' work, without output: load, plan, apply. The CLI prints and exits."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from publisher.apply.executor import AlreadyPublished, Executor, Listener
from publisher.dialects import dialect_for
from publisher.engines.pool import Pool, S3Objects
from publisher.inputs.config import Config, Connection
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import EngineUnavailable, Errors, InvalidInput, PublisherError, PublishFailed
from publisher.model.plan import DeleteObject, Plan, Publication, PutObject
from publisher.model.relation import Relation
from publisher.planning import ledger
from publisher.planning.planner import PlanInput, plan_all
from publisher.planning.snapshot import Snapshot
from publisher.planning.view import LeftObject, TargetView
from publisher.results import Results, inspect_results


def inspect(spec: Spec, pool: Pool) -> Results:
    """The spec's results, read from metadata; errors placed at the spec."""
    client = pool.s3(spec.results_connection) if spec.results_connection else None
    try:
        return inspect_results(spec.source, spec.input_format, client)
    except InvalidInput as exc:
        raise exc.at(spec.location) from None


INSPECT_THREADS = 8
"""Results read at once where some are on S3: each spec's listing and footer reads wait on the
network, not on this process (boto3's clients are thread-safe)."""


def _inspect_all(specs: list[Spec], pool: Pool) -> list[Results | Exception]:
    """Every spec's results, in order, or the error that reading them raised."""

    def one(spec: Spec) -> Results | Exception:
        try:
            return inspect(spec, pool)
        except Exception as exc:  # placed at its spec by the caller, as a serial read would be
            return exc

    if sum(1 for s in specs if s.results_connection) < 2:
        return [one(s) for s in specs]  # local files: the reads are CPU work, threads would only add
    with ThreadPoolExecutor(max_workers=INSPECT_THREADS, thread_name_prefix="inspect") as threads:
        return list(threads.map(one, specs))


class ObjectsLeft:
    """Objects interrupted applies left (COPY manifests), found by listing: each prefix listed
    once per plan, whatever the number of specs under it; each object read once, for its hash."""

    def __init__(self, config: Config, pool: Pool) -> None:
        self.config, self.pool = config, pool
        self._listed: dict[tuple[int, str], list[str]] = {}

    def of(self, spec: Spec, results: Results) -> tuple[LeftObject, ...]:
        starts = dialect_for(spec.target_type).manifests_of(spec, results)
        s3 = self.config.s3_for(spec.connection)
        if starts is None or s3 is None:
            return ()
        objects = S3Objects(self.pool.s3(s3))
        folder = starts[: starts.rindex("/") + 1]
        if (s3.id, folder) not in self._listed:
            self._listed[(s3.id, folder)] = objects.list(folder)
        found = []
        for uri in self._listed[(s3.id, folder)]:
            if uri.startswith(starts):
                body = objects.read(uri)
                if body is not None:
                    found.append(LeftObject(uri, hashlib.sha256(body).hexdigest()))
        return tuple(found)


def config_hash(config: Config) -> str:
    """publisher.yaml's content: connections, ledgers and the results template plan from it."""
    return hashlib.sha256(config.file.read_bytes()).hexdigest()[:16]


def make_plan(
    config: Config,
    specs: list[Spec],
    pool: Pool,
    *,
    offline: bool,
    now: datetime | None = None,
    force: bool = False,
    retire_only: bool = False,
) -> Plan:
    """Plan every spec; raises Errors with every problem, and then nothing may run.
    ``retire_only``: the specs' retention alone, nothing published (publisher retire).

    Reads first (each spec's results, and what its target holds), then plans them all from
    what was read, with no connection.
    """
    now = now or datetime.now(UTC)
    problems: list[PublisherError] = []
    inputs: list[PlanInput] = []
    snapshot = Snapshot(pool, specs)
    left = ObjectsLeft(config, pool)
    for spec, read in zip(specs, _inspect_all(specs, pool), strict=True):
        try:
            if isinstance(read, Exception):
                raise read
            results = read
            view = None if offline else snapshot.view(spec)
            if view is not None:
                view = replace(view, objects_left=left.of(spec, results))
        except EngineUnavailable as exc:
            # The machine's problem, not the spec's (a driver or Java missing): one line per
            # run, whatever the number of specs or connections it stops.
            if all(str(p) != str(exc) for p in problems):
                problems.append(exc)
            continue
        except PublisherError as exc:
            problems.append(exc.at(spec.location))
            continue
        except Exception as exc:  # a connection problem during live planning
            problems.append(InvalidInput(f"{spec.connection.label}: {_one_line(exc)}", spec.location))
            continue
        inputs.append(PlanInput(spec, results, view))
    publications, found = plan_all(inputs, now, force=force, retire_only=retire_only)
    problems.extend(found)
    if problems:
        raise Errors(sorted(problems, key=lambda p: (str(p.location.file), p.location.line) if p.location else ("", 0)))
    publications = [
        replace(p, fingerprint=fingerprint(i.spec, i.results, i.view, p))
        for p, i in zip(publications, inputs, strict=True)
    ]
    return Plan(
        created_at=now.strftime(PLAN_TIME_FORMAT),
        offline=offline,
        publications=tuple(publications),
        spec_files=tuple(dict.fromkeys(s.file for s in specs)),
        config_hash=config_hash(config),
        forced=force,
    )


PLAN_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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

    def run_group(group: list[Publication], connections: Pool) -> list[Outcome]:
        outcomes = []
        for publication in group:
            if on_publication:
                on_publication("start", publication, None)
            outcomes.append(_apply_one(publication, config, connections, dry_run, listener, serial, run_id))
            if on_publication:
                on_publication("end", publication, outcomes[-1].error)
        return outcomes

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
        executor = Executor(target, dialect_for(publication.target_type), objects, dry_run=dry_run, serial=serial)
        if run_id:
            executor.run_id = run_id
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


def ledger_rows(
    config: Config, pool: Pool, column: str, value: int | str, only: Connection | None = None
) -> list[tuple[Connection, ledger.Entry]]:
    """The rows of every target connection's ledger (or ``only`` that one's) whose ``column``
    equals ``value`` (a job group, a run id), oldest first; a connection without a ledger yet
    holds none."""
    found: list[tuple[Connection, ledger.Entry]] = []
    for connection in config.connections:
        if connection.type == "s3" or (only is not None and connection.id != only.id):
            continue
        dialect = dialect_for(connection.type)
        # The ledger of a connection bound to a database is in that database (Redshift: a
        # schema of it); one that writes anywhere keeps it in a database of its own, which
        # ledger_relation names (the placeholder database is not read).
        bound = connection.target_settings.bound_database or "default"
        home = connection.ledger_relation(Relation(bound, connection.target.default_schema, "x"))
        target = pool.target(connection)
        if not target.namespace_exists(home) or home.name not in target.table_names(home):
            continue
        state = target.table_state(home, exists=True)
        lacks = ledger.lacking(tuple(c.name for c in state.columns)) if state else ()
        rows = ledger.parse(target.fetch(ledger.select_where(dialect, home, column, value, lacks)))
        found += [(connection, e) for e in rows]
    return sorted(found, key=lambda ce: (str(ce[1].published_at), ce[1].state == "done"))


def fingerprint(
    spec: Spec, results: Results, view: TargetView | None, publication: Publication | None = None
) -> dict[str, object]:
    """What a plan of ``spec`` depends on; a saved plan is refused when any of it changed. Its
    own manifest, there after an interrupted apply of this plan, is not a change."""
    table = view.table if view else None
    own = {s.uri for s in publication.steps if isinstance(s, PutObject)} if publication else set()
    status = "unknown"
    if view is not None:
        done = [e for e in view.entries if e.state == "done"]
        status = f"{len(view.entries)} rows, last {done[-1].run_id if done else 'none'}"
    found: dict[str, object] = {
        "spec": spec.content_hash,
        "files": [[f.uri, f.size, f.version] for f in results.files],
        "table": [[c.name, c.type] for c in table.columns] if table else None,
        "ledger": status,
        "left": [[o.uri, o.sha256] for o in view.objects_left if o.uri not in own] if view else [],
    }
    if view is not None and (spec.keep_last is not None or spec.keep_for is not None):
        # Retention's candidates are rows of other job groups: the ledger's status above misses them.
        found["retention"] = [[e.published_table, e.state] for e in view.made] + [[v, ""] for v, _ in view.views]
    return found


def _file_versions(files: object) -> dict[object, object] | None:
    """uri -> (size, version) of a fingerprint's files; None when the plan file was edited out of shape."""
    if not isinstance(files, list) or not all(isinstance(f, list) and len(f) == 3 for f in files):
        return None
    return {uri: (size, version) for uri, size, version in files}


def _describe_change(key: str, saved: object, now: object) -> str:
    if key == "files":
        before, after = _file_versions(saved), _file_versions(now)
        if before is None or after is None:
            return "the plan file's record of the result files was edited"
        changed = [u for u in sorted(set(before) | set(after), key=str) if before.get(u) != after.get(u)]
        shown = ", ".join(
            f"{str(u).rsplit('/', 1)[-1]} {'added' if u not in before else 'removed' if u not in after else 'modified'}"
            for u in changed[:3]
        )
        return f"result files changed ({shown}{', ...' if len(changed) > 3 else ''})"
    return {
        "spec": "the spec file changed",
        "table": "the target table's definition changed",
        "ledger": "the ledger changed (another apply ran)",
        "left": "the COPY manifests that interrupted applies left changed (another apply ran, or was interrupted)",
        "retention": "the tables retention would retire changed (another apply published or retired one, or a view "
        "was made or dropped)",
    }.get(key, f"{key} changed")


def replan(saved: Plan, config: Config, pool: Pool) -> tuple[Plan | None, list[str]]:
    """The saved plan made again now, from the same spec files, at its own time: the plan to
    run, and why it cannot be run ([] when every publication and step is the same)."""
    if saved.offline:
        return None, ["the plan was made offline (publisher plan --offline): plan again with the targets reachable"]
    specs, problems = load_specs([Path(f) for f in saved.spec_files], config)
    if problems:
        return None, [f"the specs no longer validate: {problems[0]}"]
    when = datetime.strptime(saved.created_at, PLAN_TIME_FORMAT).replace(tzinfo=UTC)
    try:
        fresh = make_plan(config, specs, pool, offline=False, now=when, force=saved.forced)
    except Errors as exc:
        return None, [f"planning it again fails (the specs, results or target changed): {e}" for e in exc.errors]
    return fresh, differences(saved, fresh)


def differences(saved: Plan, fresh: Plan) -> list[str]:
    """Why ``saved`` is not ``fresh``, one line per publication: what it was planned from,
    else the first step that differs."""
    if saved.config_hash != fresh.config_hash:
        return ["publisher.yaml changed"]
    reasons = []
    now = {p.id: p for p in fresh.publications}
    for pub in saved.publications:
        head = f"{pub.spec_file}: {pub.label}"
        other = now.pop(pub.id, None)
        if other is None:
            reasons.append(f"{head}: the spec is gone or no longer names this publication")
        elif other != pub:
            reasons.append(f"{head}: {_first_difference(pub, other)}")
    reasons += [f"{p.spec_file}: {p.label}: not in the saved plan" for p in now.values()]
    if not reasons and saved != fresh:
        reasons.append("the plan file differs from the plan made again (edited?)")
    return reasons


def _first_difference(saved: Publication, now: Publication) -> str:
    for key in ("spec", "files", "table", "retention", "ledger", "left"):
        if saved.fingerprint.get(key) != now.fingerprint.get(key):
            return _describe_change(key, saved.fingerprint.get(key), now.fingerprint.get(key))
    if saved.status != now.status:
        return f"was {saved.status}, is {now.status} now ({now.status_detail or 'the ledger changed'})"
    for i, (a, b) in enumerate(zip(saved.steps, now.steps, strict=False), start=1):
        if a != b:
            return f"step {i} ({a.purpose}) is not what the specs, results and target plan now (was the plan edited?)"
    if len(saved.steps) != len(now.steps):
        return f"{len(saved.steps)} steps where the specs, results and target plan {len(now.steps)} now"
    changed = [name for name in vars(saved) if getattr(saved, name) != getattr(now, name)]
    return f"{', '.join(changed)} differ from what the specs, results and target plan now (was the plan edited?)"
