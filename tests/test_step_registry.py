"""Every step kind is registered once: its name and class (model/plan.py), its handler (the
executor) and its renderer (reports). A kind added without one of them fails here, not in a
user's apply."""

from __future__ import annotations

from typing import get_args

import pytest

from publisher.apply.executor import HANDLERS, Executor, handles
from publisher.model.plan import STEP_KINDS, STEP_TYPES, Step
from publisher.reports.render import RENDERERS, renders


def test_the_step_union_and_the_registry_name_the_same_kinds() -> None:
    assert set(get_args(Step)) == set(STEP_TYPES.values())
    assert len(STEP_KINDS) == len(STEP_TYPES), "a class registered under two names"


@pytest.mark.parametrize("kind", sorted(STEP_TYPES))
def test_every_step_kind_has_a_handler_and_a_renderer(kind: str) -> None:
    cls = STEP_TYPES[kind]
    assert cls in HANDLERS, f"no executor handler for {cls.__name__}: mark one with @handles({cls.__name__})"
    assert cls in RENDERERS, f"no renderer for {cls.__name__}: mark one with @renders({cls.__name__})"
    assert set(HANDLERS) == set(RENDERERS) == set(STEP_TYPES.values())


def test_a_kind_is_registered_once() -> None:
    with pytest.raises(AssertionError, match="two handlers"):
        handles(STEP_TYPES["sql"])(Executor._execute)
    with pytest.raises(AssertionError, match="two renderers"):
        renders(STEP_TYPES["sql"])(str)
