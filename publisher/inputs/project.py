"""A project: its config and its specs, loaded and validated together."""

from __future__ import annotations

from pathlib import Path

from publisher.inputs.config import DEFAULT_CONFIG, Config, load_config
from publisher.inputs.spec import Spec, find_spec_files, load_specs
from publisher.model.errors import Errors, PublisherError


def load_project(
    config_path: Path | None, paths: list[str], *, need_config: bool = True
) -> tuple[Config | None, list[Spec]]:
    """The config (when there is one or it is needed) and every valid spec; raises Errors."""
    problems: list[PublisherError] = []
    config = None
    path = config_path or Path(DEFAULT_CONFIG)
    if need_config or config_path is not None or path.exists():
        try:
            config = load_config(path)
        except Errors as exc:
            problems.extend(exc.errors)
    files, found = find_spec_files(paths)
    problems.extend(found)
    specs, found = load_specs(files, config)
    problems.extend(found)
    if problems:
        raise Errors(problems)
    return config, specs
