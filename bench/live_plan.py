"""Live planning against the targets: `publisher plan` of N specs against the HiveServer2
and the Redshift stand-in, next to `publisher plan --offline` of the same specs.

Each fact of a target is read once per run (planning/snapshot.py): a database or schema's
existence, its tables' names, its location and the ledger once; a table's columns once per
table (Redshift: every table of a schema in one query). Two shapes of project:
  new      each spec creates its own table (dropAndLoad into a table not there yet)
  existing each spec loads into its own existing table (truncateAndLoad): one DESCRIBE per
           table on Hive, which has no bulk catalog query that keeps Hive's type names

Goal (architecture issue): live plan of 1,000 specs within 2x the offline plan + 5 s.

    python bench/live_plan.py [--small] [--targets hive redshift]   # the services must run (bench/README.md)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from common import machine, median, run_timed, table, tool
from live import IAM_ROLE, Services, hive_connect, hive_run, redshift_connect, s3_client, s3_latency, services

SIZES = (1, 100, 1000)
SMALL_SIZES = (1, 20)
EXISTING = 200  # existing tables made for the "existing" shape (CREATE TABLE takes ~0.1 s each on Hive)


def write_results(root: Path) -> Path:
    folder = root / "results" / "1" / "1"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]}), folder / "part-0.parquet"
    )
    return folder


def project(root: Path, target: str, n: int, action: str, database: str, svc: Services) -> None:
    if target == "hive":
        connection = {"id": 1, "name": "hive", "type": "hive", "host": "127.0.0.1", "port": svc.hive_port}
        config = {"results": "results/{jobGroup}/{flowNodeId}/", "connections": [connection]}
        path, table, source = database, "{prefix}{i}", "../results/1/1/"
    else:
        connection = {
            "id": 1, "name": "rs", "type": "redshift", "host": svc.redshift_host,
            "port": svc.redshift_port, "database": "dev", "user": "publisher",
            "password": "${PUBLISHER_BENCH_PASSWORD}", "iamRole": IAM_ROLE, "s3": 2, "sslmode": "verify-ca",
        }  # fmt: skip
        s3 = {"id": 2, "name": "s3", "type": "s3", "region": "us-east-1", "endpointUrl": svc.s3_endpoint}
        config = {"results": "s3://publisher-bench/{jobGroup}/{flowNodeId}/", "resultsConnection": 2}
        config["connections"] = [connection, s3]
        path, table, source = "dev", database + ".{prefix}{i}", "s3://publisher-bench/live-plan/"
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    specs = root / "specs"
    specs.mkdir()
    for i in range(n):
        # "new" tables are named new<i>: none exists; "existing" ones t<i>, made beforehand.
        spec = {
            "jobGroup": 1000 + i, "flowNodeId": 1, "connection": {"id": 1}, "path": [path],
            "table": table.format(prefix="t" if action == "truncateAndLoad" else "new", i=i),
            "action": action, "inputFormat": "pqt", "source": source,
        }  # fmt: skip
        (specs / f"s{i:04d}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="smoke size for CI")
    ap.add_argument("--targets", nargs="+", choices=("hive", "redshift"), default=["hive", "redshift"])
    ap.add_argument(
        "--s3-latency-ms", type=float, default=0, help="hold each S3 request this long, as a real S3's network would"
    )
    args = ap.parse_args()
    with s3_latency(services(), args.s3_latency_ms / 1000) as svc:
        run(args, svc)


def run(args: argparse.Namespace, svc: Services) -> None:
    sizes = SMALL_SIZES if args.small else SIZES
    existing = 5 if args.small else EXISTING
    publisher = tool("publisher")
    os.environ.update(svc.env)  # the children's environment: password, CA
    database = "bench_live_plan"
    hive = hive_connect(svc) if "hive" in args.targets else None
    rs = redshift_connect(svc) if "redshift" in args.targets else None
    if hive is not None:
        hive_run(hive, f"DROP DATABASE IF EXISTS {database} CASCADE", f"CREATE DATABASE {database}")
        for i in range(existing):
            hive_run(hive, f"CREATE TABLE {database}.t{i} (id BIGINT, name STRING) STORED AS PARQUET")
    s3 = None
    if rs is not None:
        rs.cursor().execute(f"DROP SCHEMA IF EXISTS {database} CASCADE")
        rs.cursor().execute(f"CREATE SCHEMA {database}")
        for i in range(existing):
            rs.cursor().execute(f"CREATE TABLE {database}.t{i} (id BIGINT, name VARCHAR(65535))")
        s3 = s3_client(svc)
        with contextlib.suppress(Exception):  # it exists from another benchmark
            s3.create_bucket(Bucket="publisher-bench")
    rows = []
    for target in args.targets:
        shapes = [("new", "dropAndLoad", n) for n in sizes] + [("existing", "truncateAndLoad", existing)]
        for shape, action, n in shapes:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                results = write_results(root)
                if s3 is not None and target == "redshift":
                    for f in results.iterdir():
                        s3.put_object(Bucket="publisher-bench", Key=f"live-plan/{f.name}", Body=f.read_bytes())
                project(root, target, n, action, database, svc)
                offline = median([run_timed([publisher, "plan", "--offline"], root)[0] for _ in range(3)])
                live = median([run_timed([publisher, "plan"], root)[0] for _ in range(3)])
                goal = 2 * offline + 5
                rows.append(
                    (target, shape, n, f"{offline:.2f}", f"{live:.2f}", f"{live / offline:.1f}x", f"{goal:.1f}",
                     "met" if live <= goal else f"missed by {live - goal:.1f} s")
                )  # fmt: skip
                print(f"{target} {shape} {n}: offline {offline:.2f}s live {live:.2f}s", file=sys.stderr)
    if hive is not None:
        hive_run(hive, f"DROP DATABASE IF EXISTS {database} CASCADE")
    if rs is not None:
        rs.cursor().execute(f"DROP SCHEMA IF EXISTS {database} CASCADE")
    latency = f"; every S3 request held {args.s3_latency_ms:g} ms" if args.s3_latency_ms else ""
    print(f"Live plan vs offline plan (median of 3, wall seconds; {machine()}{latency})\n")
    header = ("target", "tables", "specs", "offline s", "live s", "live/offline", "goal s (2x + 5)", "goal")
    print(table(header, rows))


if __name__ == "__main__":
    main()
