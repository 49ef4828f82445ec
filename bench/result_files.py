"""Planning one result of many small files: `publisher plan --offline` of one spec whose result
is N small Parquet files (2 rows each, seeded), on local disk and on a moto S3 server this
script starts on a loopback port and stops. Offline planning reads the result (listing and
every file's footer) and no target, so this times the result's inspection plus start-up.

With --before TREE it times another checkout (the code before a change) side by side,
interleaved, and prints the speed-up. --s3-latency-ms holds each S3 request that long through
a loopback proxy, as a real S3's network would (bench/live.py's proxy).

    python bench/result_files.py [--small] [--files N] [--repeat R] [--s3-latency-ms MS] [--before TREE]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from common import REPO, machine, median, run_timed, table
from live import AWS_ENV, IAM_ROLE, latency_proxy

BUCKET = "publisher-bench-files"
PREFIX = "result/"


def write_result(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        rows = pa.table({"id": pa.array([2 * i, 2 * i + 1], pa.int64()), "name": [f"n{i}", None]})
        path = folder / f"part-{i:05d}.parquet"
        pq.write_table(rows, path)
        paths.append(path)
    (folder / "_SUCCESS").write_bytes(b"")
    return paths


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a running process (Linux /proc), 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


SERVER: dict[str, int] = {}  # the moto server's pid, to read its CPU time


@contextlib.contextmanager
def moto_server(port: int, log: Path) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1:port, stopped (by its own pid) on exit."""
    program = Path(sys.executable).parent / "moto_server"
    with log.open("wb") as out:
        process = subprocess.Popen([str(program), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    endpoint = f"http://127.0.0.1:{port}"
    SERVER["pid"] = process.pid
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"moto_server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def upload(endpoint: str, paths: list[Path]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "_SUCCESS", Body=b"")
    with ThreadPoolExecutor(8) as threads:
        list(threads.map(lambda p: s3.put_object(Bucket=BUCKET, Key=PREFIX + p.name, Body=p.read_bytes()), paths))


def project(root: Path, where: str, endpoint: str) -> Path:
    """A project of one spec over the result: local (an embedded Hive, never started offline)
    or on S3 (a Redshift connection, never connected offline)."""
    root.mkdir()
    spec = {"jobGroup": 1, "flowNodeId": 1, "connection": {"id": 1}, "table": "files", "action": "createAndLoad"}
    spec["inputFormat"] = "pqt"
    if where == "local":
        config: dict[str, object] = {
            "results": "../results/{jobGroup}/{flowNodeId}/",
            "connections": [{"id": 1, "name": "local", "type": "hive", "embedded": True}],
        }
        spec["path"] = ["default"]
    else:
        redshift = {
            "id": 1, "name": "rs", "type": "redshift", "host": "127.0.0.1", "port": 5439, "database": "dev",
            "user": "publisher", "password": "${PUBLISHER_BENCH_PASSWORD}", "iamRole": IAM_ROLE, "s3": 2,
        }  # fmt: skip
        s3 = {"id": 2, "name": "s3", "type": "s3", "region": "us-east-1", "endpointUrl": endpoint}
        config = {
            "results": f"s3://{BUCKET}/{{jobGroup}}/{{flowNodeId}}/",
            "resultsConnection": 2,
            "connections": [redshift, s3],
        }
        spec["path"] = ["dev"]
        spec["source"] = f"s3://{BUCKET}/{PREFIX}"
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "specs").mkdir()
    (root / "specs" / "files.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


def timed(tree: Path, root: Path) -> tuple[float, float, float]:
    """Wall seconds of `publisher plan --offline` in ``root`` with the code of ``tree``, its CPU
    seconds and the S3 server's CPU seconds meanwhile (on 2 cores, the two share them)."""
    os.environ["PYTHONPATH"] = str(tree)
    server = cpu_seconds(SERVER.get("pid"))
    wall, cpu = run_timed([sys.executable, "-m", "publisher", "plan", "--offline", "-o", os.devnull], root)
    return wall, cpu, cpu_seconds(SERVER.get("pid")) - server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="smoke size for CI: 100 files, one run")
    ap.add_argument("--files", type=int, default=10_000, help="files in the result (default 10,000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each, median taken (default 3)")
    ap.add_argument("--s3-latency-ms", type=float, default=0, help="hold each S3 request this long")
    ap.add_argument("--before", type=Path, help="another checkout to time side by side (the code before)")
    ap.add_argument("--port", type=int, default=29100, help="moto_server's port, if free (default 29100)")
    args = ap.parse_args()
    n, repeat = (100, 1) if args.small else (args.files, args.repeat)
    trees = [("before", args.before.resolve())] if args.before else []
    trees.append(("now", REPO))
    os.environ.update(AWS_ENV)
    os.environ["PUBLISHER_BENCH_PASSWORD"] = "never-used-offline"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write_result(root / "results" / "1" / "1", n)
        with moto_server(free_port(args.port), root / "moto.log") as endpoint:
            upload(endpoint, paths)
            with latency_proxy(endpoint, args.s3_latency_ms / 1000) as proxied:
                projects = {"local disk": project(root / "local", "local", proxied)}
                latency = f", each request held {args.s3_latency_ms:g} ms" if args.s3_latency_ms else ""
                projects[f"moto S3{latency}"] = project(root / "s3", "s3", proxied)
                times: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
                for _ in range(repeat):  # interleaved: drift on the machine hits each alike
                    for where, folder in projects.items():
                        for name, tree in trees:
                            got = timed(tree, folder)
                            times.setdefault((where, name), []).append(got)
                            print(
                                f"{where} {name}: {got[0]:.2f}s (CPU {got[1]:.2f}s, S3 server {got[2]:.2f}s)",
                                file=sys.stderr,
                            )

    def mid(where: str, name: str, i: int) -> float:
        return median([t[i] for t in times[(where, name)]])

    rows = []
    for where in projects:
        row: list[object] = [where, f"{n:,}"]
        row += [f"{mid(where, name, 0):.2f}" for name, _ in trees]
        if args.before:
            row.append(f"{mid(where, 'before', 0) / mid(where, 'now', 0):.1f}x")
        row += [f"{mid(where, name, 1):.1f} / {mid(where, name, 2):.1f}" for name, _ in trees]
        rows.append(row)
    header = ["result on", "files", *(f"{name} s" for name, _ in trees)] + (["speed-up"] if args.before else [])
    header += [f"{name}: CPU s, publisher / S3 server" for name, _ in trees]
    print(
        f"`publisher plan --offline` of one result of N small Parquet files (median of {repeat}, wall; {machine()})\n"
    )
    print(table(header, rows))


if __name__ == "__main__":
    main()
