"""Planning a set of specs: their results read (S3 ones several at once), their targets
inspected once each, then every publication planned from what was read; and a saved plan made
again at its own time."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from publisher.dialects import dialect_for
from publisher.engines.pool import Pool, S3Objects
from publisher.inputs.config import Config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import EngineUnavailable, Errors, InvalidInput, PublisherError, first_line
from publisher.model.plan import Plan
from publisher.planning.planner import PlanInput, plan_all
from publisher.planning.snapshot import Snapshot
from publisher.planning.view import LeftObject
from publisher.results import Results, inspect_results
from publisher.workflow.saved import differences, fingerprint

PLAN_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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
            problems.append(InvalidInput(f"{spec.connection.label}: {first_line(exc)}", spec.location))
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
