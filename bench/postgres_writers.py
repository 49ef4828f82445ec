"""How to stream a result into PostgreSQL: the ways publisher/engines/postgres_copy.py could
write rows, side by side in one run, next to PostgreSQL's own COPY rate.

    python bench/postgres_writers.py [--rows N ...] [--repeat R] [--small] [--methods NAME ...]

Needs the Redshift stand-in's PostgreSQL (bash .ci/services/redshift_standin.sh start): it loads
into a database of its own, ``bench_copy`` (made through the superuser's socket), never into the
stand-in's ``dev``. The input is load_speed.py's seeded orders table (11 columns: bigint, int,
decimal(12,2), double, four strings, timestamp, date, boolean), 4 Parquet part files.

Methods, each its own process (peak RSS is that process's alone), runs interleaved:

- csv: `copy_results` (batches from `result_batches`, Arrow's C++ CSV writer in a thread of
  its own, psycopg `copy.write`, `COPY ... (FORMAT csv)`);
- binary: batches from `result_batches`, rows as Python values, psycopg `copy.write_row`
  (its C encoder), `COPY ... (FORMAT binary)`;
- adbc: batches from `result_batches` as one RecordBatchReader, `adbc_ingest` of
  adbc-driver-postgresql (binary COPY written in C++), on a connection of its own;
- psql \\copy: `psql -c "\\copy t FROM 'rows.csv' CSV"` of the pre-converted CSV file (made
  once, untimed, by the publisher's own converter);
- server COPY: `COPY t FROM '/path/rows.csv' (FORMAT csv)` run by the server itself:
  PostgreSQL's own COPY rate, no client.

The table is truncated between runs (untimed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from common import OUT, machine, median, table
from live import Measured, dataset, run_child, services

DATABASE = "bench_copy"
TABLE = "orders"
COLUMNS = {
    "order_id": "bigint",
    "customer_id": "integer",
    "amount": "numeric(12,2)",
    "score": "double precision",
    "email": "text",
    "name": "text",
    "country": "text",
    "comment": "text",
    "created_at": "timestamp",
    "order_date": "date",
    "is_active": "boolean",
}
METHODS = ("csv", "binary", "adbc", "psql \\copy", "server COPY")
FULL_ROWS = (1_000_000, 10_000_000)
SMALL_ROWS = (10_000,)


def socket_dir() -> str:
    return str(Path(os.environ.get("PUBLISHER_CI_STATE", "/tmp/publisher-ci")) / "redshift" / "pgsocket")


def url(password: str, port: int) -> str:
    return f"postgresql://publisher:{password}@127.0.0.1:{port}/{DATABASE}"


def admin(port: int, database: str = DATABASE) -> Any:
    import psycopg

    return psycopg.connect(host=socket_dir(), port=port, dbname=database, user="postgres", autocommit=True)


def prepare_database(port: int) -> None:
    with admin(port, "postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER publisher")
    with admin(port) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"CREATE TABLE {TABLE} (" + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
        conn.execute(f"ALTER TABLE {TABLE} OWNER TO publisher")


def csv_file(folder: Path) -> Path:
    """The result as one CSV file, written by the publisher's own converter (untimed, made once);
    readable by the server's user for the server-side COPY."""
    from publisher.engines.postgres_copy import _csv_bytes, _printable
    from publisher.results import inspect_results
    from publisher.results.batches import result_batches

    path = OUT / "load-data" / f"{folder.name}.csv"
    if path.exists():
        return path
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        for batch in result_batches(inspect_results(str(folder), "pqt")):
            out.write(memoryview(_csv_bytes(_printable(batch, list(COLUMNS.values())), options)))
    partial.rename(path)
    return path


def server_readable(path: Path) -> Path:
    """A copy of ``path`` the postgres user may read (the bench folder may not be reachable to it)."""
    target = Path("/tmp") / f"bench-copy-{os.getuid()}" / path.name
    if not target.exists() or target.stat().st_size != path.stat().st_size:
        target.parent.mkdir(exist_ok=True)
        target.parent.chmod(0o755)
        shutil.copyfile(path, target)
        target.chmod(0o644)
    return target


# --------------------------------------------------------------------------- children


def child(method: str, folder: str, db_url: str) -> None:
    """One load, run in a process of its own; prints the rows it wrote."""
    import psycopg

    from publisher.engines.postgres_copy import copy_results
    from publisher.results import inspect_results
    from publisher.results.batches import result_batches

    results = inspect_results(folder, "pqt")
    names = list(COLUMNS)
    if method == "adbc":
        import adbc_driver_postgresql.dbapi as adbc
        import pyarrow as pa

        batches = result_batches(results)
        first = next(batches)
        reader = pa.RecordBatchReader.from_batches(first.schema, _chain(first, batches))
        with adbc.connect(db_url) as conn, conn.cursor() as cursor:
            rows = cursor.adbc_ingest(TABLE, reader, mode="append")
            conn.commit()
        print(rows)
        return
    with psycopg.connect(db_url) as conn:
        if method == "csv":
            rows = copy_results(conn, TABLE, names, list(COLUMNS.values()), result_batches(results))
        elif method == "binary":
            rows = 0
            oids = [conn.execute("SELECT %s::regtype::oid", [t]).fetchone()[0] for t in COLUMNS.values()]
            with conn.cursor() as cursor, cursor.copy(f"COPY {TABLE} FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(oids)  # by OID: the registry knows no numeric(12,2)
                for batch in result_batches(results):
                    for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                        copy.write_row(row)
                    rows += batch.num_rows
        else:
            raise SystemExit(f"unknown method {method}")
        conn.commit()
    print(rows)


def _chain(first: Any, rest: Any) -> Any:
    yield first
    yield from rest


# --------------------------------------------------------------------------- parent


def command(method: str, folder: Path, csv_path: Path, db_url: str, port: int) -> list[str]:
    if method == "psql \\copy":
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", db_url, "-c", f"\\copy {TABLE} FROM '{csv_path}' CSV"]
    if method == "server COPY":
        sql = f"COPY {TABLE} FROM '{server_readable(csv_path)}' (FORMAT csv)"
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", socket_dir(), "-p", str(port), "-U", "postgres"] + [
            "-d",
            DATABASE,
            "-c",
            sql,
        ]
    return [sys.executable, __file__, "--child", method, str(folder), db_url]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="10,000 rows, one run: the CI smoke")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "FOLDER", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    svc = services()
    sizes = tuple(args.rows or (SMALL_ROWS if args.small else FULL_ROWS))
    repeat = 1 if args.small else args.repeat
    methods = list(args.methods)
    if "adbc" in methods and not _installed("adbc_driver_postgresql"):
        print("note: adbc-driver-postgresql is not installed; its rows are left out", file=sys.stderr)
        methods.remove("adbc")
    prepare_database(svc.postgres_port)
    db_url = url(svc.password, svc.postgres_port)
    env = {**os.environ, "PGPASSWORD": svc.password}
    print(f"# PostgreSQL COPY: ways to stream a result\n\n{machine()}\n")
    rows_out = []
    for n in sizes:
        folder = dataset(n)
        csv_path = csv_file(folder)
        runs: dict[str, list[Measured]] = {m: [] for m in methods}
        for r in range(repeat):
            order = methods[r % len(methods) :] + methods[: r % len(methods)]
            for method in order:
                with admin(svc.postgres_port) as conn:
                    conn.execute(f"TRUNCATE {TABLE}")
                    conn.execute(f"VACUUM {TABLE}")
                measured = run_child(command(method, folder, csv_path, db_url, svc.postgres_port), env=env)
                assert measured is not None
                with admin(svc.postgres_port) as conn:
                    count = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
                if count != n:
                    sys.exit(f"{method}: {count} rows in the table after loading {n}")
                runs[method].append(measured)
                print(f"  {n:>11,} {method:<12} {measured.wall:7.2f}s  {measured.maxrss_mb:6.0f} MB", file=sys.stderr)
        floor = median([m.wall for m in runs["server COPY"]]) if runs.get("server COPY") else None
        for method in methods:
            wall = median([m.wall for m in runs[method]])
            rows_out.append(
                [
                    f"{n:,}",
                    method,
                    f"{wall:.2f}",
                    f"{n / wall:,.0f}",
                    f"{median([m.cpu for m in runs[method]]):.2f}",
                    f"{max(m.maxrss_mb for m in runs[method]):.0f}",
                    f"{wall / floor:.2f}x" if floor else "-",
                ]
            )
    header = ["rows", "method", "wall s (median)", "rows/s", "client CPU s", "peak RSS MB", "vs server COPY"]
    print(table(header, rows_out))
    print(f"\n{repeat} run(s) each, interleaved; started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
