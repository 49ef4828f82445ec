"""Lists the example project's tables in the embedded Hive with their row counts."""

from __future__ import annotations

from pathlib import Path

from publisher.engines.pool import open_target
from publisher.inputs.config import load_config
from publisher.model.relation import Relation


def main() -> None:
    config = load_config(Path("publisher.yaml"))
    connection = config.find("local")
    assert connection is not None
    target = open_target(connection, config)
    try:
        for name in sorted(target.table_names(Relation("default", None, "x"))):
            rows = target.fetch(f"SELECT COUNT(*) FROM `default`.`{name}`")[0][0]
            print(f"default.{name:<40} {rows:>6} rows")
    finally:
        target.close()


if __name__ == "__main__":
    main()
