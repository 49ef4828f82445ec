"""A saved plan: what each publication was planned from (its fingerprint), and why a plan made
again from the same specs differs from it."""

from __future__ import annotations

from publisher.inputs.spec import Spec
from publisher.model.plan import Plan, Publication, PutObject
from publisher.planning.view import TargetView
from publisher.results import Results


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
