"""Helpers for the benchmarks that publish into live engines (load_speed.py,
many_publications.py): where the services are, a seeded realistic table, projects on
disk, and child processes timed with their own peak RSS.

The services are the CI ones (.ci/services/redshift_standin.sh and hiveserver2.sh);
start them first. Their addresses come from the same variables the scripts read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from common import OUT, REPO

IAM_ROLE = "arn:aws:iam::123456789012:role/publisher-bench"
BUCKET = "publisher-bench"
# moto accepts any key; boto3 and the stand-in's COPY need some.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Services:
    """Addresses of the running stand-in and HiveServer2, and the environment children get."""

    redshift_host: str
    redshift_port: int
    password: str
    ca_file: str
    s3_endpoint: str
    postgres_port: int  # the PostgreSQL behind the proxy: pandas and dlt load into it directly
    hive_port: int

    @property
    def env(self) -> dict[str, str]:
        """What every child (publisher, hand-written loads) runs with."""
        return {
            **os.environ,
            **AWS_ENV,
            "PUBLISHER_BENCH_PASSWORD": self.password,
            # The stand-in's TLS certificate is signed by its own CA: trusted through this.
            "SSL_CERT_FILE": self.ca_file,
        }

    @property
    def postgres_url(self) -> str:
        return f"postgresql://publisher:{self.password}@127.0.0.1:{self.postgres_port}/dev"


def services() -> Services:
    """From the environment, or from $PUBLISHER_CI_STATE/redshift/env.sh as the start script wrote it."""
    state = Path(os.environ.get("PUBLISHER_CI_STATE", "/tmp/publisher-ci"))
    values = dict(os.environ)
    env_sh = state / "redshift" / "env.sh"
    if "PUBLISHER_TEST_REDSHIFT" not in values and env_sh.exists():
        for line in env_sh.read_text().splitlines():
            m = re.match(r"export (\w+)=(.*)$", line)
            if m:
                values[m[1]] = shlex.split(m[2])[0] if m[2] else ""
    try:
        host, _, port = values["PUBLISHER_TEST_REDSHIFT"].rpartition(":")
        return Services(
            redshift_host=host,
            redshift_port=int(port),
            password=values["PUBLISHER_TEST_REDSHIFT_PASSWORD"],
            ca_file=values["PUBLISHER_TEST_REDSHIFT_CA"],
            s3_endpoint=values["PUBLISHER_TEST_S3"],
            postgres_port=int(values.get("PUBLISHER_PG_PORT", "15432")),
            hive_port=int(values.get("PUBLISHER_HS2_PORT", "10015")),
        )
    except KeyError as missing:
        sys.exit(
            f"{missing} not set and no {env_sh}: start the services first "
            "(bash .ci/services/redshift_standin.sh start; bash .ci/services/hiveserver2.sh start)"
        )


@contextlib.contextmanager
def s3_latency(svc: Services, seconds: float) -> Iterator[Services]:
    """The services with the S3 endpoint behind a proxy that holds each request chunk for
    ``seconds``: the network latency of a real S3 (tens of ms to the first byte), which the
    local S3 server, on the same machine, does not have. Replies pass at once."""
    with latency_proxy(svc.s3_endpoint, seconds) as endpoint:
        yield replace(svc, s3_endpoint=endpoint)


@contextlib.contextmanager
def latency_proxy(endpoint: str, seconds: float) -> Iterator[str]:
    """``endpoint`` behind a loopback proxy that holds each request chunk for ``seconds``
    (s3_latency); the endpoint itself when ``seconds`` is 0."""
    if not seconds:
        yield endpoint
        return
    upstream = urlparse(endpoint)
    loop = asyncio.new_event_loop()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(upstream.hostname, upstream.port)
        await asyncio.gather(pipe(client_r, server_w, seconds), pipe(server_r, client_w, 0))

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


def s3_client(svc: Services) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=svc.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def redshift_connect(svc: Services) -> Any:
    """The real client through the proxy, as the publisher connects (TLS, verify-ca)."""
    import redshift_connector

    os.environ["SSL_CERT_FILE"] = svc.ca_file
    conn = redshift_connector.connect(
        host=svc.redshift_host,
        port=svc.redshift_port,
        database="dev",
        user="publisher",
        password=svc.password,
        ssl=True,
        sslmode="verify-ca",
    )
    conn.autocommit = True
    return conn


def postgres_connect(svc: Services) -> Any:
    """PostgreSQL itself, past the proxy: setup, resets and VACUUM between timed runs."""
    import psycopg

    return psycopg.connect(svc.postgres_url, autocommit=True)


def hive_connect(svc: Services) -> Any:
    from pyhive import hive

    return hive.connect(host="127.0.0.1", port=svc.hive_port, auth="NONE", username="publisher")


def hive_run(conn: Any, *statements: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for sql in statements:
        cursor = conn.cursor()
        cursor.execute(sql)
        rows = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        cursor.close()
    return rows


# --------------------------------------------------------------------------- data

COLUMNS = (
    "order_id bigint, customer_id int, amount decimal(12,2), score double, email string, "
    "name string, country string, comment string, created_at timestamp, order_date date, is_active boolean"
)


def make_part(start: int, rows: int, seed: int) -> Any:
    """Rows [start, start + rows) of an orders-like table; seeded, so every run is the same.

    Strings of varied length and cardinality: a unique e-mail per row, names from a pool
    of 20,000 (3-40 chars), 25 countries, free-text comments (0-200 chars, 10% NULL).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ", dtype="S1")

    def pool(n: int, lo: int, hi: int) -> Any:
        lengths = rng.integers(lo, hi + 1, n)
        chars = letters[rng.integers(0, len(letters), int(lengths.sum()))].tobytes().decode()
        ends = np.cumsum(lengths)
        return pa.array([chars[e - n_ : e] for e, n_ in zip(ends, lengths, strict=True)])

    ids = pa.array(np.arange(start, start + rows, dtype=np.int64))
    cents = rng.integers(-5_000_00, 9_999_999_99, rows, dtype=np.int64)
    # decimal128 from unscaled values: 16 bytes each, the high half the sign extension.
    words = np.empty((rows, 2), dtype=np.int64)
    words[:, 0], words[:, 1] = cents, cents >> 63
    amount = pa.Array.from_buffers(pa.decimal128(12, 2), rows, [None, pa.py_buffer(words.tobytes())])
    score = rng.normal(50, 15, rows)
    score_mask = rng.random(rows) < 0.02
    email = pc.binary_join_element_wise("user", pc.cast(ids, pa.string()), "@example.com", "")
    names = pool(20_000, 3, 40).take(pa.array(rng.integers(0, 20_000, rows)))
    countries = pa.array([f"C{i:02d}" for i in range(25)]).take(pa.array(rng.integers(0, 25, rows)))
    comments = pool(5_000, 0, 200).take(pa.array(rng.integers(0, 5_000, rows)))
    comments = pc.if_else(pa.array(rng.random(rows) < 0.10), pa.scalar(None, pa.string()), comments)
    epoch = np.datetime64("2024-01-01T00:00:00", "us")
    created = epoch + rng.integers(0, 365 * 86_400 * 10**6, rows).astype("timedelta64[us]")
    day = np.datetime64("2020-01-01") + rng.integers(0, 5 * 365, rows).astype("timedelta64[D]")
    return pa.table(
        {
            "order_id": ids,
            "customer_id": pa.array(rng.integers(1, 2_000_000, rows, dtype=np.int32)),
            "amount": amount,
            "score": pa.array(score, mask=score_mask),
            "email": email,
            "name": names,
            "country": countries,
            "comment": comments,
            "created_at": pa.array(created, pa.timestamp("us")),
            "order_date": pa.array(day, pa.date32()),
            "is_active": pa.array(rng.random(rows) < 0.7),
        }
    )


def dataset(rows: int, parts: int = 4) -> Path:
    """A result folder of ``parts`` Parquet files and a _SUCCESS marker, under bench/out/
    (made once; gitignored). ``rm -rf bench/out/load-data`` to regenerate."""
    import pyarrow.parquet as pq

    folder = OUT / "load-data" / f"rows-{rows}"
    if (folder / "_SUCCESS").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    per = -(-rows // parts)
    for i in range(parts):
        start = i * per
        n = min(per, rows - start)
        pq.write_table(make_part(start, n, seed=1000 + i), folder / f"part-{i:05d}.snappy.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    print(
        f"(generated {rows:,} rows in {parts} files in {time.perf_counter() - started:.1f}s: {folder})", file=sys.stderr
    )
    return folder


def upload(svc: Services, folder: Path, prefix: str) -> str:
    """The folder's files under s3://BUCKET/prefix/ (skipped when already there); the URI."""
    s3 = s3_client(svc)
    try:
        s3.head_bucket(Bucket=BUCKET)
    except Exception:
        s3.create_bucket(Bucket=BUCKET)
    for path in sorted(folder.iterdir()):
        key = f"{prefix}/{path.name}"
        try:
            if s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == path.stat().st_size:
                continue
        except Exception:
            pass
        s3.upload_file(str(path), BUCKET, key)
    return f"s3://{BUCKET}/{prefix}/"


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(("_", ".")))


# --------------------------------------------------------------------------- projects


def write_project(root: Path, svc: Services, *, ledger: str, results: str = "results/{jobGroup}/{flowNodeId}/") -> None:
    """publisher.yaml with every target; each keeps its ledger in ``ledger``, a Redshift or
    PostgreSQL schema and a Hive database of this benchmark's own."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "specs").mkdir(exist_ok=True)
    config = {
        "results": results,
        "connections": [
            {
                "id": 1,
                "name": "redshift",
                "type": "redshift",
                "host": svc.redshift_host,
                "port": svc.redshift_port,
                "database": "dev",
                "user": "publisher",
                "password": "${PUBLISHER_BENCH_PASSWORD}",
                "iamRole": IAM_ROLE,
                "s3": "results",
                "ledger": {"database": ledger, "table": "publications"},
            },
            {
                "id": 2,
                "name": "hive",
                "type": "hive",
                "host": "127.0.0.1",
                "port": svc.hive_port,
                "auth": "NONE",
                "username": "publisher",
                "ledger": {"database": ledger, "table": "publications"},
            },
            {"id": 3, "name": "results", "type": "s3", "endpointUrl": svc.s3_endpoint, "region": "us-east-1"},
            {
                "id": 4,
                "name": "postgres",
                "type": "postgres",
                "host": "127.0.0.1",
                "port": svc.postgres_port,  # PostgreSQL itself, past the Redshift stand-in's proxy
                "database": "bench_plain",
                "user": "publisher",
                "password": "${PUBLISHER_BENCH_PASSWORD}",
                "sslmode": "disable",
                "ledger": {"database": ledger, "table": "publications"},
            },
        ],
    }
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def write_spec(root: Path, name: str, **keys: Any) -> Path:
    path = root / "specs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(keys, sort_keys=False))
    return path


def apply_spec(
    project: Path, name: str, job: int, connection: str, path: str, table: str, action: str, source: str, **extra: Any
) -> list[str]:
    """Writes ``specs/<name>.yaml`` (jobGroup ``job``, flow node 1, Parquet results at ``source``;
    ``extra`` keys after the action) into ``project``: the `publisher apply` command of it."""
    write_spec(
        project,
        name,
        jobGroup=job,
        flowNodeId=1,
        connection={"name": connection},
        path=[path],
        table=table,
        action=action,
        **extra,
        inputFormat="pqt",
        source=source,
    )
    # --force: fresh_ledgers dropped the ledger on purpose, beside tables earlier runs made
    return [*publisher_cmd(), "apply", f"specs/{name}.yaml", "--force"]


def create_table_sql(target: str, qualified: str, folder: Path) -> str:
    """CREATE TABLE with the columns publisher would give the results (its own type map)."""
    from publisher.dialects import dialect_for
    from publisher.model.relation import Relation
    from publisher.planning.planner import result_columns
    from publisher.results import inspect_results

    results = inspect_results(str(folder), "pqt")
    dialect = dialect_for(target)  # type: ignore[arg-type]

    class _Spec:  # what result_columns reads of a spec (CI runs this with --small: tests/test_bench_smoke.py)
        column_types: dict[str, str] = {}
        partition: dict[str, str] = {}

    columns = result_columns(dialect, _Spec(), results)  # type: ignore[arg-type]
    first, _, second = qualified.partition(".")
    relation = Relation("dev", first, second) if target == "redshift" else Relation(first, None, second)
    return dialect.create_table(relation, columns)


# --------------------------------------------------------------------------- children


@dataclass(frozen=True)
class Measured:
    wall: float
    cpu: float
    maxrss_mb: float
    stdout: str


# Peak RSS must be read from a process forked by a small one: a child forked straight from
# this benchmark (pyarrow, psycopg, PyHive loaded: ~200 MB) starts with our RSS as its
# high-water mark, and Linux keeps that mark across exec. This launcher (python -S, ~10 MB)
# forks the command, waits for it with os.wait4 (that one child's own rusage) and writes
# wall seconds, CPU seconds and peak RSS (KiB) to a file.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> Measured | None:
    """Wall and CPU seconds and the peak RSS of ``cmd`` alone, run through LAUNCHER.
    None when it ran past ``timeout`` (it is then killed, with its whole process group)."""
    OUT.mkdir(parents=True, exist_ok=True)
    stats = OUT / f".child-{os.getpid()}.stats"
    stats.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(stats), *cmd]
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            launcher, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None
        out.seek(0)
        text = out.read().decode(errors="replace")
    if check and proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd[:4])} ...\n{text[-3000:]}")
    wall, cpu, maxrss = stats.read_text().split()
    stats.unlink()
    # ru_maxrss is in KiB on Linux.
    return Measured(float(wall), float(cpu), int(maxrss) / 1024, text)


ENGINE_PROCESSES = {"hive": ("hiveserver2",), "redshift": ("redshift-postgres", "redshift-proxy", "redshift-s3")}
"""The engine processes of each target, by PID file in PUBLISHER_CI_STATE (.ci/services/)."""


def engine_cpu_seconds(target: str) -> float:
    """CPU seconds the target's engine processes have used so far: the HiveServer2's JVM; on
    the stand-in PostgreSQL (its server process, its live backends, and the backends that have
    exited, which the server's children times count), the proxy and the S3 server. Read from
    /proc, so that a benchmark shows the engines' share next to the publisher's own CPU."""
    state = Path(os.environ.get("PUBLISHER_CI_STATE", "/tmp/publisher-ci"))
    roots: set[int] = set()
    for name in ENGINE_PROCESSES[target]:
        found = state / f"{name}.pid"
        if found.exists():
            roots.add(int(found.read_text().split()[0]))
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        stats[int(entry.name)] = fields
        parents[int(entry.name)] = int(fields[1])
    for pid, fields in stats.items():
        ancestor, hops = pid, 0
        while ancestor not in roots and ancestor > 1 and hops < 10:
            ancestor, hops = parents.get(ancestor, 0), hops + 1
        if ancestor in roots:
            # utime, stime; and for the roots, their exited children's (PostgreSQL backends).
            total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if pid in roots else 0)
    return total / ticks


def publisher_cmd() -> list[str]:
    from common import tool

    return [tool("publisher")]


def py_child(code: str, *args: str) -> list[str]:
    """A Python child running ``code`` (a hand-written load, as a user would write it)."""
    return [sys.executable, "-c", code, *map(str, args)]


_STEP = re.compile(r"^\s*\d+\. -- (.+)$")
_DONE = re.compile(r"-> .*\(([0-9.]+)s\)\s*$")


def step_seconds(stdout: str, purposes: tuple[str, ...]) -> float:
    """Seconds the publisher's progress output gives the steps whose purpose starts with one of ``purposes``."""
    total, purpose = 0.0, ""
    for line in stdout.splitlines():
        step = _STEP.match(line)
        if step:
            purpose = step[1]
            continue
        done = _DONE.search(line)
        if done and purpose.startswith(purposes):
            total += float(done[1])
    return total


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"


def code_version() -> str:
    """The commit of the publisher being measured (it is installed editable: the tree is the code)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + uncommitted changes in publisher/" if git("status", "--porcelain", "publisher") else ""
    return f"publisher at {sha}{dirty}"


def fresh_ledgers(svc: Services, ledger: str, targets: Sequence[str]) -> None:
    """Drop both targets' ledger tables of ``ledger``: the first apply makes them again.

    On Hive every publication adds two small Parquet files to the ledger, and planning reads
    the whole ledger: a benchmark that reused an old ledger would time its history."""
    if "redshift" in targets:
        postgres_connect(svc).execute(f'DROP TABLE IF EXISTS "{ledger}"."publications"')
    if "hive" in targets:
        conn = hive_connect(svc)
        hive_run(conn, f"CREATE DATABASE IF NOT EXISTS `{ledger}`", f"DROP TABLE IF EXISTS `{ledger}`.`publications`")
