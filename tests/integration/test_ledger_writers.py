"""Several processes record into one Hive ledger at the same moment (two `publisher serve`
and a CI apply): every row each reported as written is there, and none failed.

Spark's own Parquet writer commits each INSERT through one `_temporary` folder in the
table's folder, so that of two INSERTs at once the first to commit deletes the other's files
(measured: 9 of 45 failed, a reported success lost its row). The ledger's INSERTs run under
the dialect's ``shared_insert_settings`` (apply/shared_inserts.py); here three HiveServer2
sessions insert at once through it, as the ledger's records do. The front-doors test
(test_front_doors.py) shows the same end to end."""

from __future__ import annotations

import threading

import pytest

from publisher.apply.shared_inserts import alongside_others
from publisher.dialects.hive import Hive
from publisher.model.relation import Relation
from publisher.model.target import Target
from publisher.planning import ledger
from tests.fixtures.hive import _server

pytestmark = pytest.mark.hive

SESSIONS, EACH = 3, 12


@pytest.mark.parametrize("hive_target", ["server"], indirect=True)
def test_inserts_of_three_sessions_at_once_into_the_ledger_all_land(hive_target: Target, hive_database: str) -> None:
    dialect = Hive()
    home = Relation(hive_database, None, "publications")
    for step in ledger.ensure(dialect, home):
        hive_target.execute(step.text)
    failures: list[str] = []
    written: list[int] = []
    lock = threading.Lock()

    def session(number: int) -> None:
        target = _server()  # a HiveServer2 session of its own, as another process has
        try:
            for i in range(EACH):
                job = number * 100 + i
                row = [str(job) if n == "job_group" else "'done'" if n == "state" else "NULL" for n in ledger.NAMES]
                sql = (
                    f"INSERT INTO {dialect.table(home)} PARTITION (`{ledger.WRITTEN}` = '2026-12-07')\n"
                    f"VALUES ({', '.join(row)})"
                )
                try:
                    with alongside_others(target, dialect):
                        target.execute(sql)
                except Exception as exc:
                    with lock:
                        failures.append(str(exc).splitlines()[0][:200])
                else:
                    with lock:
                        written.append(job)
            # Set back: the publisher's other statements in this session keep Spark's own writer.
            for key, _, after in dialect.shared_insert_settings:
                shown = {str(c) for r in target.fetch(f"SET {key}") for c in r}
                if after not in shown:
                    with lock:
                        failures.append(f"{key} left at {shown}")
        finally:
            target.close()

    threads = [threading.Thread(target=session, args=(n,)) for n in range(1, SESSIONS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = sorted(int(r[0]) for r in hive_target.fetch(f"SELECT job_group FROM {dialect.table(home)}"))
    assert failures == []
    assert found == sorted(written) and len(found) == SESSIONS * EACH
