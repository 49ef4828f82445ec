"""Live plan time against a long ledger history (issue 15, goal 3): `publisher plan` of the
same 20 specs against a connection whose ledger holds H = 10, 1,000 and 10,000 past
publications, on the Redshift stand-in and the HiveServer2.

The history is written straight into each ledger, in the shape the publisher gives it
(planning/ledger.py COLUMNS): publication k is jobGroup 100000 + k, truncateAndLoad into one
of 50 tables (the 20 planned ones among them), with its spec's canonical JSON in base64, a
run id and a timestamp a minute apart. Redshift writes one 'done' row a publication (in the
load's transaction); Hive two, 'pending' and then 'done', each by an INSERT of its own into
the partition of its UTC day, and each INSERT leaves a Parquet file of one row. Hive layouts:

  insert    one INSERT a row, as the publisher writes them: one file a row
  files     the same one file a row, written with pyarrow into the partitions' folders (the
            server runs on this machine): 2 x 10,000 INSERTs would take an hour of Spark jobs
  compacted the same files, then compacted as an apply compacts the ledger
            (apply/ledger_compaction.py: every day of the history is closed)

Each history lives in a ledger of its own (database/schema lhist_ledger_<H>, dropped first);
the 20 tables in lhist_data. Besides the plan it times two reads of the ledger alone, from a
client in this process: every row (what planning read before) and the rows of the 20 planned
job groups (what it reads now): how much of the plan the ledger read is, and what of it is rows.

Goal (issue 15): plan time at H = 10,000 at most 1.1x that at H = 10, on both targets.

    python bench/ledger_history.py [--small] [--targets redshift hive] [--repeat N]   # services must run
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from common import machine, median, run_timed, table, tool
from live import (
    IAM_ROLE,
    Services,
    hive_connect,
    hive_run,
    postgres_connect,
    redshift_connect,
    s3_client,
    services,
)

from publisher.dialects import dialect_for
from publisher.model.location import Location
from publisher.model.plan import Statement
from publisher.model.relation import Relation
from publisher.planning import ledger

SPECS = 20
TABLES = 50  # the history's publications go into these; the 20 planned tables are t0..t19
DATA = "lhist_data"
FULL = {"redshift": [(10, "rows"), (1000, "rows"), (10000, "rows")],
        "hive": [(10, "insert"), (1000, "insert"), (10000, "files"),
                 (10, "compacted"), (10000, "compacted")]}  # fmt: skip
SMALL = {"redshift": [(10, "rows"), (200, "rows")], "hive": [(10, "insert"), (100, "insert"), (100, "compacted")]}
START = datetime(2025, 1, 1)
SETTLED = timedelta(hours=2)  # a compaction older than ledger_compaction.SETTLE: what it copied is dropped


def ledger_db(h: int, layout: str) -> str:
    return f"lhist_ledger_{h}_{layout}"


def history(h: int, target: str, database: str) -> Iterator[tuple[Any, ...]]:
    """The ledger rows of H past publications, oldest first, in ledger.NAMES order."""
    for k in range(h):
        name = f"t{k % TABLES}"
        table = name if target == "hive" else f"{DATA}.{name}"
        spec = {
            "jobGroup": 100000 + k, "flowNodeId": 1, "connection": {"id": 1}, "path": [database],
            "table": f"{DATA}.{name}" if target == "redshift" else name, "action": "truncateAndLoad",
            "inputFormat": "pqt", "source": f"s3://publisher-bench/history/{k}/",
        }  # fmt: skip
        canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        at = START + timedelta(minutes=k)
        stamp = at.strftime("%Y%m%d%H%M%S")
        common = dict(
            job_group=100000 + k, flow_node_id=1, connection_id=1, database_name=database, table_name=table,
            action="truncateAndLoad", published_table=table, stamp=stamp, spec_file=f"specs/history/{k:05d}.yaml",
            spec_hash=hashlib.sha256(canonical.encode()).hexdigest(),
            spec_b64=base64.b64encode(canonical.encode()).decode(), run_id=f"{k:032x}", project=None,
        )  # fmt: skip
        location = f"file:/warehouse/{DATA}.db/{name}_{stamp}" if target == "hive" else None
        if target == "hive":
            pending = {**common, "state": "pending", "row_count": None, "rows_before": None,
                       "location_before": location, "published_at": at, "detail": None}  # fmt: skip
            yield tuple(pending[n] for n in ledger.NAMES)
        done = {**common, "state": "done", "row_count": 1000 + k, "rows_before": 1000, "location_before": location,
                "published_at": at + timedelta(seconds=30), "detail": None}  # fmt: skip
        yield tuple(done[n] for n in ledger.NAMES)


def hive_literal(value: Any) -> str:
    if isinstance(value, datetime):
        return f"CAST('{value:%Y-%m-%d %H:%M:%S}' AS TIMESTAMP)"
    return dialect_for("hive").literal(value)


def create_ledger_sql(target: str, home: Relation) -> str:
    """The ledger as the publisher creates it (Hive: partitioned by the day rows are written)."""
    dialect = dialect_for(target)  # type: ignore[arg-type]
    create = ledger.ensure(dialect, home)[1]
    assert isinstance(create, Statement)
    return create.text


def day(row: tuple[Any, ...]) -> str:
    """The partition the publisher writes a row into: its UTC day."""
    published: datetime = row[ledger.NAMES.index("published_at")]
    return published.strftime("%Y-%m-%d")


def write_hive_history(conn: Any, h: int, layout: str) -> int:
    """The history in a fresh Hive ledger; the number of its data files."""
    db = ledger_db(h, layout)
    home = Relation(db, None, "publications")
    target = dialect_for("hive").table(home)
    hive_run(conn, f"DROP DATABASE IF EXISTS {db} CASCADE", f"CREATE DATABASE {db}", create_ledger_sql("hive", home))
    rows = list(history(h, "hive", DATA))
    if layout in ("files", "compacted"):
        folder = Path(location(conn, target))
        names = [n for n, _ in ledger.COLUMNS]
        types = {"int": pa.int64(), "text": pa.string(), "timestamp": pa.timestamp("us")}
        schema = pa.schema([(n, types[t]) for n, t in ledger.COLUMNS])
        for i, row in enumerate(rows):  # as Spark names an INSERT's file: one per statement
            t = pa.table({n: [v] for n, v in zip(names, row, strict=True)}, schema=schema)
            (folder / f"written={day(row)}").mkdir(exist_ok=True)
            name = f"part-00000-{i:08x}-0000-0000-0000-000000000000-c000.snappy.parquet"
            pq.write_table(t, folder / f"written={day(row)}" / name)
        for value in sorted({day(r) for r in rows}):
            hive_run(conn, f"ALTER TABLE {target} ADD PARTITION (written='{value}')")
        hive_run(conn, f"REFRESH TABLE {target}")
    else:
        for row in rows:
            values = ", ".join(hive_literal(v) for v in row)
            hive_run(conn, f"INSERT INTO TABLE {target} PARTITION (written='{day(row)}') VALUES ({values})")
    if layout == "compacted":
        print(f"  compacted: {compact_hive_ledger(home)}", file=sys.stderr)
    return ledger_files(conn, target)


def compact_hive_ledger(home: Relation) -> str:
    """The compaction an apply runs: copied as one file, then (a settled compaction, two hours
    on) the copied days dropped."""
    from publisher.apply import ledger_compaction
    from publisher.engines.hiveserver2 import HiveServer

    server = HiveServer("127.0.0.1", services().hive_port, username="publisher")
    dialect = dialect_for("hive")
    step = ledger.compact(dialect, home)
    now = datetime.now(UTC)
    said = [ledger_compaction.compact(server, dialect, step, "bench", print, now=when) for when in (now, now + SETTLED)]
    server.close()
    return "; ".join(said)


def location(conn: Any, target: str) -> str:
    found = [r[1] for r in hive_run(conn, f"DESCRIBE FORMATTED {target}") if str(r[0]).strip() == "Location"]
    return str(Location.parse(str(found[0])).local_path())


def ledger_files(conn: Any, target: str) -> int:
    folder = Path(location(conn, target))
    return sum(1 for p in folder.rglob("*.parquet"))


def write_redshift_history(svc: Services, h: int) -> None:
    schema = ledger_db(h, "rows")
    home = Relation("dev", schema, "publications")
    rs = redshift_connect(svc)
    rs.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    rs.cursor().execute(f"CREATE SCHEMA {schema}")
    rs.cursor().execute(create_ledger_sql("redshift", home))  # through the stand-in: its types
    with postgres_connect(svc) as pg, pg.cursor() as cur:  # the rows straight into PostgreSQL
        columns = ", ".join(ledger.NAMES)
        with cur.copy(f'COPY "{schema}".publications ({columns}) FROM STDIN') as copy:
            for row in history(h, "redshift", "dev"):
                copy.write_row(row)


def project(root: Path, target: str, svc: Services, ledger_home: str) -> None:
    if target == "hive":
        connection: dict[str, Any] = {
            "id": 1, "name": "hive", "type": "hive", "host": "127.0.0.1", "port": svc.hive_port,
            "auth": "NONE", "username": "publisher",
        }  # fmt: skip
        config: dict[str, Any] = {"results": "results/{jobGroup}/{flowNodeId}/", "connections": [connection]}
        path, source = DATA, "../results/1/1/"
    else:
        connection = {
            "id": 1, "name": "rs", "type": "redshift", "host": svc.redshift_host,
            "port": svc.redshift_port, "database": "dev", "user": "publisher",
            "password": "${PUBLISHER_BENCH_PASSWORD}", "iamRole": IAM_ROLE, "s3": 2, "sslmode": "verify-ca",
        }  # fmt: skip
        s3 = {"id": 2, "name": "s3", "type": "s3", "region": "us-east-1", "endpointUrl": svc.s3_endpoint}
        config = {"results": "s3://publisher-bench/{jobGroup}/{flowNodeId}/", "resultsConnection": 2}
        config["connections"] = [connection, s3]
        path, source = "dev", "s3://publisher-bench/ledger-history/"
    connection["ledger"] = {"database": ledger_home, "table": "publications"}
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    specs = root / "specs"
    specs.mkdir()
    for i in range(SPECS):
        spec = {
            "jobGroup": 1000 + i, "flowNodeId": 1, "connection": {"id": 1}, "path": [path],
            "table": f"t{i}" if target == "hive" else f"{DATA}.t{i}", "action": "truncateAndLoad",
            "inputFormat": "pqt", "source": source,
        }  # fmt: skip
        (specs / f"s{i:02d}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def ledger_read_seconds(target: str, svc: Services, home: Relation, repeat: int) -> tuple[float, float]:
    """The ledger's reads alone, from a client here: every row (as planning read it before) and
    the planned job groups' rows (as it reads now)."""
    dialect = dialect_for(target)  # type: ignore[arg-type]
    texts = (
        ledger.select_all(dialect, home),
        ledger.select_job_groups(dialect, home, frozenset(range(1000, 1000 + SPECS))),
    )
    conn = hive_connect(svc) if target == "hive" else redshift_connect(svc)
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for text, spent in zip(texts, times, strict=True):
            started = time.perf_counter()
            cursor = conn.cursor()
            cursor.execute(text)
            cursor.fetchall()
            spent.append(time.perf_counter() - started)
    conn.close()
    return median(times[0]), median(times[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="smoke size for CI")
    ap.add_argument("--targets", nargs="+", choices=("hive", "redshift"), default=["redshift", "hive"])
    ap.add_argument("--repeat", type=int, default=None, help="runs of each plan (default 5, --small 1)")
    ap.add_argument("--cases", nargs="+", metavar="H:LAYOUT", help="only these histories, e.g. 10:insert 10000:files")
    ap.add_argument("--baseline", type=Path, help="another tree's publisher/ (e.g. main's) to time alongside")
    args = ap.parse_args()
    repeat = args.repeat or (1 if args.small else 5)
    cases = SMALL if args.small else FULL
    if args.cases:  # H = 10 of a layout is the base of its ratio: give it too
        chosen = [(int(h), layout) for h, _, layout in (c.partition(":") for c in args.cases)]
        cases = {t: [c for c in chosen if (t == "redshift") == (c[1] == "rows")] for t in cases}
    svc = services()
    publisher = tool("publisher")
    os.environ.update(svc.env)  # the children's environment: password, CA
    hive = hive_connect(svc) if "hive" in args.targets else None
    if hive is not None:
        hive_run(hive, f"DROP DATABASE IF EXISTS {DATA} CASCADE", f"CREATE DATABASE {DATA}")
        for i in range(SPECS):
            hive_run(hive, f"CREATE TABLE {DATA}.t{i} (id BIGINT, name STRING) STORED AS PARQUET")
    if "redshift" in args.targets:
        rs = redshift_connect(svc)
        rs.cursor().execute(f"DROP SCHEMA IF EXISTS {DATA} CASCADE")
        rs.cursor().execute(f"CREATE SCHEMA {DATA}")
        for i in range(SPECS):
            rs.cursor().execute(f"CREATE TABLE {DATA}.t{i} (id BIGINT, name VARCHAR(65535))")
        s3 = s3_client(svc)
        try:
            s3.head_bucket(Bucket="publisher-bench")
        except Exception:
            s3.create_bucket(Bucket="publisher-bench")
    # (label, PYTHONPATH) of each code timed: runs interleaved, so that drift hits each alike.
    trees = [("this tree", os.environ.get("PYTHONPATH", ""))]
    if args.baseline:
        trees.append((f"baseline {args.baseline}", str(args.baseline.resolve())))
    rows = []
    for target in args.targets:
        base: dict[tuple[str, str], float] = {}
        for h, layout in cases[target]:
            started = time.perf_counter()
            if target == "hive":
                assert hive is not None
                files: int | str = write_hive_history(hive, h, layout)
                home = Relation(ledger_db(h, layout), None, "publications")
            else:
                write_redshift_history(svc, h)
                files, home = "-", Relation("dev", ledger_db(h, layout), "publications")
            written = time.perf_counter() - started
            print(f"{target} H={h} {layout}: history written in {written:.1f}s, {files} files", file=sys.stderr)
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                folder = root / "results" / "1" / "1"
                folder.mkdir(parents=True)
                part = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
                pq.write_table(part, folder / "part-0.parquet")
                if target == "redshift":
                    s3.put_object(Bucket="publisher-bench", Key="ledger-history/part-0.parquet",
                                  Body=(folder / "part-0.parquet").read_bytes())  # fmt: skip
                project(root, target, svc, home.schema or home.database)
                plans: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in trees}
                for i in range(repeat + 1):
                    for label, path in trees:
                        os.environ["PYTHONPATH"] = path
                        timed = run_timed([publisher, "plan"], root)
                        if i:  # the first round warms caches and the server's first read of the table
                            plans[label].append(timed)
            read, planned = ledger_read_seconds(target, svc, home, repeat)
            for label, _ in trees:
                wall, cpu = median([w for w, _ in plans[label]]), median([c for _, c in plans[label]])
                key = (label, "compacted" if layout == "compacted" else "one file a row")
                base.setdefault(key, wall)
                ratio = wall / base[key]
                rows_n = h * (2 if target == "hive" else 1)
                met = "met" if ratio <= 1.1 else f"missed by {ratio - 1.1:.2f}x"
                rows.append((target, label, layout, f"{h:,}", f"{rows_n:,}", files, f"{wall:.2f}", f"{cpu:.2f}",
                             f"{read:.2f}", f"{planned:.2f}", f"{ratio:.2f}x", met))  # fmt: skip
                print(
                    f"  {label}: plan {wall:.2f}s (cpu {cpu:.2f}s), read: all {read:.2f}s, planned {planned:.2f}s",
                    file=sys.stderr,
                )
            os.environ["PYTHONPATH"] = trees[0][1]
            if hive is not None and target == "hive":
                hive_run(hive, f"DROP DATABASE IF EXISTS {ledger_db(h, layout)} CASCADE")
            elif target == "redshift":
                redshift_connect(svc).cursor().execute(f"DROP SCHEMA IF EXISTS {ledger_db(h, layout)} CASCADE")
    if hive is not None:
        hive_run(hive, f"DROP DATABASE IF EXISTS {DATA} CASCADE")
    if "redshift" in args.targets:
        redshift_connect(svc).cursor().execute(f"DROP SCHEMA IF EXISTS {DATA} CASCADE")
    print(f"`publisher plan` of {SPECS} specs against a ledger history (median of {repeat}, wall s; {machine()})\n")
    header = ("target", "code", "layout", "publications", "ledger rows", "ledger files", "plan s", "plan cpu s",
              "all rows read alone s", "planned rows read alone s", "x H=10", "goal <= 1.1x")  # fmt: skip
    print(table(header, rows))


if __name__ == "__main__":
    main()
