"""A live plan reads the cluster's slices (stv_slices) and judges the results' file count
against them (issue 15, goal 5): a count that is not a multiple of the slices is named with
the cluster's number; an offline plan, which cannot know it, does not judge that."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_redshift import spec

pytestmark = pytest.mark.redshift

ROWS_PER_FILE = 1100
"""Rows of 1,000 characters, stored plain: about 1.1 MB a file, so that N + 1 files of them
are worth spreading over N slices (the warning leaves out loads under 1 MB a slice)."""


def upload_parts(rs: RedshiftEngine, tmp_path: Path, job: int, files: int) -> None:
    folder = tmp_path / "local-results" / str(job)
    folder.mkdir(parents=True)
    rows = pa.table({"id": pa.array(range(ROWS_PER_FILE), pa.int64()), "pad": ["x" * 1000] * ROWS_PER_FILE})
    for i in range(files):
        pq.write_table(rows, folder / f"part-{i:05d}.parquet", compression="none", use_dictionary=False)
    (folder / "_SUCCESS").touch()
    rs.upload(folder, job)


def test_a_file_count_that_is_not_a_multiple_of_the_clusters_slices_is_named(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    (slices,) = redshift.fetch("SELECT COUNT(*) FROM stv_slices")[0]  # the stand-in's: 4 by default
    upload_parts(redshift, tmp_path, 1, slices + 1)
    upload_parts(redshift, tmp_path, 2, 2 * slices)
    spec(redshift_project, redshift, "uneven", "createAndLoad", "pqt", 1, table="uneven")
    spec(redshift_project, redshift, "even", "createAndLoad", "pqt", 2, table="even")

    live = redshift_project.run("plan", "--format", "json")
    assert live.code == 0, live.err
    warnings = {p["spec_file"]: p["warnings"] for p in json.loads(live.out)["publications"]}
    assert warnings["specs/even.yaml"] == []  # full rounds: nothing to say
    (uneven,) = warnings["specs/uneven.yaml"]
    assert uneven.startswith(f"{slices + 1} files of ")
    assert uneven.endswith(
        f"for the cluster's {slices} slices: not a multiple of the slices, so COPY's last round loads 1 file(s) "
        f"while {slices - 1} slice(s) wait; AWS advises a file count that is a multiple of the slices"
    )

    offline = redshift_project.run("plan", "--offline")
    assert offline.code == 0, offline.err
    assert "warning:" not in offline.out  # slices unknown: whether the count is a multiple is not judged
