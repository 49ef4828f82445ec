"""Command line: parsing, output and exit codes. The only module that exits."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from publisher import __version__
from publisher.config import Config, load_config
from publisher.connections import Pool
from publisher.errors import Errors, PublisherError
from publisher.executor import StepEvent
from publisher.plan import Plan, Publication, plan_from_json, plan_to_json
from publisher.render import plan_text, step_lines

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="publisher", description="Publish job results into Hive and Redshift from YAML specs."
    )
    parser.add_argument("--version", action="version", version=f"publisher {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, help="project config (default: ./publisher.yaml)")

    p = sub.add_parser("validate", help="check specs against the schemas; needs no connection")
    p.add_argument("paths", nargs="*", metavar="PATH", help="spec files or folders (default: specs/)")
    common(p)

    p = sub.add_parser("plan", help="show the statements that apply would run")
    p.add_argument("paths", nargs="*", metavar="PATH", help="spec files or folders (default: specs/)")
    p.add_argument("-o", "--out", type=Path, help="also save the plan as JSON, for apply")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--offline", action="store_true", help="do not inspect the targets")
    common(p)

    p = sub.add_parser("apply", help="publish: plan and run, or run a saved plan")
    p.add_argument("paths", nargs="*", metavar="PATH", help="spec files or folders, or one saved plan .json")
    p.add_argument("--dry-run", action="store_true", help="print the statements, run nothing")
    common(p)
    return parser


def _report(errors: list[PublisherError]) -> int:
    for error in errors:
        print(str(error), file=sys.stderr)
    return EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    from publisher.project import load_project

    _, specs = load_project(args.config, args.paths, need_config=False)
    print(f"{len(specs)} spec(s) valid")
    return EXIT_OK


def _plan(args: argparse.Namespace, *, offline: bool) -> tuple[Plan, Config, Pool]:
    """Load the project and plan it; the caller closes the returned pool."""
    from publisher.project import load_project
    from publisher.workflow import make_plan

    config, specs = load_project(args.config, args.paths)
    assert config is not None
    pool = Pool(config)
    try:
        return make_plan(config, specs, pool, offline=offline), config, pool
    except BaseException:
        pool.close()
        raise


def cmd_plan(args: argparse.Namespace) -> int:
    plan, _, pool = _plan(args, offline=args.offline)
    pool.close()
    if args.out:
        args.out.write_text(plan_to_json(plan), encoding="utf-8")
    print(plan_to_json(plan) if args.format == "json" else plan_text(plan), end="")
    if args.out and args.format == "text":
        print(f"\nSaved to {args.out}: run `publisher apply {args.out}` to apply exactly this plan.")
    return EXIT_OK


def _progress(kind: str, event: StepEvent) -> None:
    if kind == "start" and event.index:
        print("\n".join(step_lines(event.step, f"{event.index}.")), flush=True)
    elif kind == "done" and event.index and event.result is not None:
        print(f"        -> {event.result:,} rows ({event.elapsed:.1f}s)", flush=True)
    elif kind == "done" and event.index and event.elapsed >= 0.05:
        print(f"        -> ok ({event.elapsed:.1f}s)", flush=True)
    elif kind == "warning":
        print(
            f"warning: {event.publication.label}: {event.step.purpose} failed: {event.result}",
            file=sys.stderr,
            flush=True,
        )


def cmd_apply(args: argparse.Namespace) -> int:
    from publisher.workflow import apply_plan

    if len(args.paths) == 1 and args.paths[0].endswith(".json"):
        try:
            plan = plan_from_json(Path(args.paths[0]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{args.paths[0]}: error: cannot read plan: {exc}", file=sys.stderr)
            return EXIT_FAILED
        config = load_config(args.config or Path("publisher.yaml"))
        pool = Pool(config)
    else:
        plan, config, pool = _plan(args, offline=args.dry_run)
    started = time.monotonic()
    timings: dict[str, float] = {}

    def on_publication(kind: str, pub: Publication, error: PublisherError | None) -> None:
        if kind == "start":
            timings[pub.label] = time.monotonic()
            print(f"\n==> {pub.label}: {pub.action} into {pub.database}.{pub.table} on {pub.connection}", flush=True)
        elif error is None:
            verb = "would publish" if args.dry_run else "published"
            print(f"==> {verb} {pub.label} ({time.monotonic() - timings[pub.label]:.1f}s)", flush=True)

    try:
        outcomes = apply_plan(
            plan, config, pool, dry_run=args.dry_run, listener=_progress, on_publication=on_publication
        )
    finally:
        pool.close()
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        print(str(outcome.error), file=sys.stderr)
    done = len(outcomes) - len(failed)
    verb = "would be published (dry run: nothing ran)" if args.dry_run else "published"
    print(f"\n{done} {verb}, {len(failed)} failed, in {time.monotonic() - started:.1f}s")
    return EXIT_FAILED if failed else EXIT_OK


COMMANDS = {"validate": cmd_validate, "plan": cmd_plan, "apply": cmd_apply}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except Errors as exc:
        return _report(exc.errors)
    except PublisherError as exc:
        return _report([exc])
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILED


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
