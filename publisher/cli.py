"""Command line: parsing, output and exit codes. The only module that exits."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from publisher import __version__
from publisher.inputs.config import DEFAULT_CONFIG, Config, load_config
from publisher.model.errors import Errors, PublisherError

# Each command imports what it needs in its own function: `validate`, run on every pull
# request, never loads the planner, the executor, pyarrow or a driver (tests/test_startup.py).
if TYPE_CHECKING:
    from publisher.engines.pool import Pool
    from publisher.model.plan import Plan
    from publisher.reports.progress import Progress
    from publisher.workflow.apply import Outcome

EXIT_OK = 0
EXIT_FAILED = 1  # invalid input, or a publication failed
EXIT_CHANGES = 2  # plan --detailed-exitcode: something to publish (Terraform's -detailed-exitcode)
EXIT_INTERNAL = 3  # a bug in publisher
# Usage errors get a code of their own, so that a CI job can tell "called wrongly" from
# "changes to publish" (2): 64 is EX_USAGE of sysexits.h, the BSD convention for it.
EXIT_USAGE = 64


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with EXIT_USAGE instead of its 2 (subcommand parsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    """An argparse type: an integer of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="publisher", description="Publish job results into Hive and Redshift from YAML specs.")
    parser.add_argument("--version", action="version", version=f"publisher {__version__}")
    debug_help = "on an internal error, print the traceback"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, help: str, paths: str = "spec files or folders (default: specs/)"
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("paths", nargs="*", metavar="PATH", help=paths)
        p.add_argument("--config", type=Path, help=f"project config (default: ./{DEFAULT_CONFIG})")
        # Also after the command; SUPPRESS keeps a --debug given before it.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
        return p

    command("validate", "check specs against the schemas; needs no connection")

    p = command("plan", "show what apply would publish, statement by statement")
    p.add_argument("-o", "--out", type=Path, help="also save the plan as JSON, for `publisher apply FILE`")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--offline", action="store_true", help="do not inspect the targets (the plan cannot be applied)")
    p.add_argument("--force", action="store_true", help="plan already published specs again")
    p.add_argument(
        "--detailed-exitcode", action="store_true", help="exit 0 when nothing to publish, 2 when something, 1 on error"
    )

    p = command(
        "apply",
        "publish what is pending: plan and run, or run a saved plan",
        "spec files or folders, or a saved plan .json",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="plan live (read-only) and print the statements apply would run; run nothing",
    )
    p.add_argument(
        "--offline", action="store_true", help="with --dry-run: do not inspect the targets (statements may differ)"
    )
    p.add_argument("--force", action="store_true", help="publish the named specs again, even if already published")
    p.add_argument(
        "--parallel",
        type=_positive,
        default=1,
        metavar="N",
        help="publish into up to N tables at once (one table's publications never run together)",
    )

    command("status", "show what each spec's target ledger holds")

    p = command("retire", "apply the specs' retention rules (keepLast, keepFor) only: retire older tables")
    p.add_argument(
        "--dry-run", action="store_true", help="plan live (read-only) and print what would be retired; run nothing"
    )

    p = sub.add_parser(
        "serve",
        help="serve PUT /v4/jobGroups/<id>/publish over HTTP (publisher.yaml's server: section)",
        description="Serve the platform's publish endpoint over HTTP, through the same planner and ledger.",
    )
    p.add_argument("--config", type=Path, help=f"project config (default: ./{DEFAULT_CONFIG})")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    p.add_argument("--host", help="address to listen on (default: server.host, else 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port to listen on (default: server.port, else 8080)")
    return parser


def _port(text: str) -> int:
    """An argparse type: a TCP port."""
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1 to 65535, not {value}")
    return value


def _report(errors: list[PublisherError]) -> int:
    for error in errors:
        print(str(error), file=sys.stderr)
    return EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from publisher.inputs.project import load_project

    _, specs = load_project(args.config, args.paths, need_config=False)
    print(f"{len(specs)} spec(s) valid")
    return EXIT_OK


def _plan(args: argparse.Namespace, *, offline: bool) -> tuple[Plan, Config, Pool]:
    """Load the project and plan it; the caller closes the returned pool."""
    from publisher.engines.pool import Pool
    from publisher.inputs.project import load_project
    from publisher.workflow.make import make_plan

    config, specs = load_project(args.config, args.paths)
    assert config is not None
    pool = Pool(config)
    try:
        return make_plan(config, specs, pool, offline=offline, force=args.force), config, pool
    except BaseException:
        pool.close()
        raise


def cmd_plan(args: argparse.Namespace) -> int:
    from publisher.apply.lineage import where
    from publisher.model.plan import plan_to_json
    from publisher.reports.render import errors_markdown, plan_markdown, plan_text

    try:
        plan, config, pool = _plan(args, offline=args.offline)
    except Errors as exc:
        if args.format == "markdown":
            print(errors_markdown([str(e) for e in exc.errors]), end="")
        return _report(exc.errors)
    pool.close()
    saved = plan_to_json(plan) if args.out or args.format == "json" else ""
    if args.out:
        args.out.write_text(saved, encoding="utf-8")
    lineage = where(config.lineage) if plan.pending else ""
    rendered = (
        saved if args.format == "json" else {"markdown": plan_markdown, "text": plan_text}[args.format](plan, lineage)
    )
    print(rendered, end="")
    if args.out and args.format == "text" and not plan.offline:
        print(f"\nSaved to {args.out}: `publisher apply {args.out}` applies exactly this plan.")
    if args.detailed_exitcode and plan.pending:
        return EXIT_CHANGES
    return EXIT_OK


def _load_saved_plan(args: argparse.Namespace) -> tuple[Plan, Config, Pool]:
    """The saved plan, made again from the current specs, results, config and targets at the
    plan's own time; refused unless every publication and statement is the same. What runs
    is the plan made now, never the file's statements."""
    from publisher.engines.pool import Pool
    from publisher.model.plan import plan_from_json
    from publisher.workflow.make import replan

    file = args.paths[0]
    try:
        saved = plan_from_json(Path(file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PublisherError(f"{file}: cannot read plan: {exc}") from None
    config = load_config(args.config or Path(DEFAULT_CONFIG))
    pool = Pool(config)
    fresh, reasons = replan(saved, config, pool)
    if reasons or fresh is None:
        pool.close()
        lines = [PublisherError(f"{file} is stale, nothing was applied: {r}") for r in reasons]
        lines.append(PublisherError("run `publisher plan -o FILE` again and review the new plan"))
        raise Errors(lines)
    return fresh, config, pool


def cmd_apply(args: argparse.Namespace) -> int:
    from publisher.reports.progress import Progress
    from publisher.reports.render import STATUS_WORDS
    from publisher.workflow.apply import apply_plan

    saved = len(args.paths) == 1 and args.paths[0].endswith(".json")
    if saved and args.force:
        raise PublisherError("--force applies to specs, not to a saved plan: plan again with --force")
    if args.offline and not args.dry_run:
        raise PublisherError("--offline only goes with --dry-run: apply always plans against the targets")
    plan, config, pool = _load_saved_plan(args) if saved else _plan(args, offline=args.offline)
    if args.offline:
        print("planned offline: the targets were not inspected; apply may run other statements")
    for pub in plan.publications:
        if pub.status not in ("pending", "unfinished"):
            print(f"skip {pub.spec_file}: {pub.label}: {STATUS_WORDS[pub.status]} ({pub.status_detail})")
    progress = Progress(dry_run=args.dry_run, steps=args.parallel == 1)
    try:
        outcomes = apply_plan(
            plan,
            config,
            pool,
            dry_run=args.dry_run,
            parallel=args.parallel,
            listener=progress.step,
            on_publication=progress.publication,
        )
        if not saved and not args.dry_run:
            outcomes = _plan_stale_again(args, config, pool, outcomes, progress)
    finally:
        pool.close()
        progress.close()
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        print(str(outcome.error), file=sys.stderr)
    raced = sum(1 for o in outcomes if o.skipped)
    # Published before, finished now (an old table dropped): counted as already published.
    finished = sum(1 for o in outcomes if o.publication.status == "unfinished" and not o.error)
    done = len(outcomes) - len(failed) - raced - finished
    skipped = len(plan.publications) - len(plan.pending) + raced + finished
    verb = "would be published (dry run: nothing ran)" if args.dry_run else "published"
    tail = f"; {finished} of them had steps left by an interrupted apply, finished now" if finished else ""
    print(f"\n{done} {verb}, {skipped} already published, {len(failed)} failed, in {progress.elapsed():.1f}s{tail}")
    return EXIT_FAILED if failed else EXIT_OK


STALE_ATTEMPTS = 5
"""Plans of a publication whose table other processes keep changing while it waits for the lock."""


def _plan_stale_again(
    args: argparse.Namespace, config: Config, pool: Pool, outcomes: list[Outcome], progress: Progress
) -> list[Outcome]:
    """Publications stopped because another process changed their table after the plan
    (nothing of them ran) are planned again and applied, as a new apply would; up to
    STALE_ATTEMPTS plans in all. Each alone: planned together, a later one into the same table
    would be planned from what the earlier one leaves, stale again if that one goes stale. A
    saved plan is not planned again: it is what was reviewed."""
    from publisher.inputs.project import load_project
    from publisher.model.errors import PlanStale
    from publisher.workflow.apply import Outcome, apply_plan
    from publisher.workflow.make import make_plan

    for _ in range(STALE_ATTEMPTS - 1):
        stale = {o.publication.id for o in outcomes if isinstance(o.error, PlanStale)}
        if not stale:
            break
        print(f"planning {len(stale)} publication(s) again: another apply changed their table since the plan")
        _, specs = load_project(args.config, args.paths)
        again: dict[object, Outcome] = {}
        for spec in (s for s in specs if s.id in stale):
            plan = make_plan(config, [spec], pool, offline=False, force=args.force)
            for o in apply_plan(plan, config, pool, listener=progress.step, on_publication=progress.publication):
                again[o.publication.id] = o
            again.update({p.id: Outcome(p, skipped=True) for p in plan.publications if p.status == "published"})
        outcomes = [again.get(o.publication.id, o) for o in outcomes]
    return outcomes


def cmd_status(args: argparse.Namespace) -> int:
    from publisher.engines.pool import Pool
    from publisher.inputs.project import load_project
    from publisher.planning.actions.drop_and_load import table_missing
    from publisher.planning.snapshot import Snapshot
    from publisher.planning.view import names_for

    config, specs = load_project(args.config, args.paths)
    assert config is not None
    pool = Pool(config)
    snapshot = Snapshot(pool, specs)
    try:
        for spec in specs:
            view = snapshot.view(spec)
            done = [e for e in view.entries if e.state == "done"]
            head = f"{spec.file}: {spec.label}: {spec.action} into {spec.relation} on {spec.connection.name}:"
            if not view.entries:
                print(f"{head} not published")
                continue
            for e in done:
                rows = "?" if e.row_count is None else f"{e.row_count:,}"
                same = "" if e.spec_hash == spec.content_hash else " (from an earlier version of the spec)"
                found = f" ({e.detail})" if e.detail else ""
                when = str(e.published_at)[:19]
                print(f"{head} published {when} UTC into {e.published_table}, {rows} rows{found}{same}")
            last = view.entries[-1]
            if last.state == "pending":
                old = spec.relation.renamed(names_for(spec.relation.name, last.stamp)[3]) if last.stamp else None
                if view.table is None and old is not None and old.name in view.table_names:
                    print(f"{head} {table_missing(spec.relation, old)}: run apply")
                else:
                    print(f"{head} interrupted at {str(last.published_at)[:19]} UTC: the next apply recovers it")
    finally:
        pool.close()
    return EXIT_OK


MIN_TOKEN_LENGTH = 16


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config or Path(DEFAULT_CONFIG))
    if config.server is None:
        raise PublisherError(
            f"{config.file} has no server: section; publisher serve needs one, with the API tokens clients send: "
            'server: {tokens: ["${PUBLISHER_API_TOKEN}"]}'
        )
    tokens = []
    for secret in config.server.tokens:
        token = secret.reveal()  # read here, once: the server compares every request with it
        if len(token.strip()) < MIN_TOKEN_LENGTH or token != token.strip():
            raise PublisherError(
                f"the API token in {secret} must be at least {MIN_TOKEN_LENGTH} characters, "
                "without spaces around it (such as: openssl rand -hex 32)"
            )
        tokens.append(token)
    from publisher.engines.drivers import SERVER, needs

    with needs(SERVER):  # Starlette and uvicorn
        from publisher.serve.run import serve
    serve(
        config,
        tokens,
        host=args.host or config.server.host,
        port=args.port or config.server.port,
        limits=config.server,
    )
    return EXIT_OK


def cmd_retire(args: argparse.Namespace) -> int:
    """Retention without publishing: the plan lists what goes, apply retires it in batches."""
    from publisher.engines.pool import Pool
    from publisher.inputs.project import load_project
    from publisher.model.plan import RetireTable
    from publisher.reports.progress import Progress
    from publisher.reports.render import plan_text
    from publisher.workflow import apply_plan, make_plan

    config, specs = load_project(args.config, args.paths)
    assert config is not None
    pool = Pool(config)
    progress = Progress(dry_run=args.dry_run, steps=True)
    try:
        plan = make_plan(config, specs, pool, offline=False, retire_only=True)
        print(plan_text(plan), end="")
        outcomes = apply_plan(plan, config, pool, dry_run=args.dry_run, listener=progress.step)
    finally:
        pool.close()
        progress.close()
    tables = sum(1 for p in plan.pending for s in p.steps if isinstance(s, RetireTable))
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        print(str(outcome.error), file=sys.stderr)
    verb = "would be retired (dry run: nothing ran)" if args.dry_run else "retired or found retired"
    print(f"\n{tables} table(s) {verb}, {len(failed)} failed, in {progress.elapsed():.1f}s")
    return EXIT_FAILED if failed else EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "status": cmd_status,
    "serve": cmd_serve,
    "retire": cmd_retire,
}


def _unwritable(out: Path) -> str | None:
    """Why ``plan -o`` could not write ``out``, checked before planning opens any connection."""
    if out.is_dir():
        return f"{out} is a folder"
    folder = out.parent
    if not folder.is_dir():
        return f"no such folder: {folder}"
    if not os.access(out if out.exists() else folder, os.W_OK):
        return f"{out if out.exists() else folder} is not writable"
    return None


def _internal_error(exc: BaseException, debug: bool) -> int:
    if debug:
        import traceback  # only here: a run without a bug never needs it

        traceback.print_exc()
    lines = str(exc).strip().splitlines()
    print(
        f"error: internal error (a bug in publisher): {type(exc).__name__}: {lines[0] if lines else ''}; "
        "run with --debug for the traceback",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = getattr(args, "out", None)
        why = _unwritable(out) if out is not None else None
        if why:
            raise PublisherError(f"cannot write the plan to {out}: {why}")
        return COMMANDS[args.command](args)
    except Errors as exc:
        return _report(exc.errors)
    except PublisherError as exc:
        return _report([exc])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # anything else is a bug: one line, the traceback on request
        return _internal_error(exc, args.debug)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
