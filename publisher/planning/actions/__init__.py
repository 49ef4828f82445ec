"""One strategy per action; the planner looks them up here."""

from __future__ import annotations

from publisher.model.vocabulary import Action
from publisher.planning.actions.base import Strategy
from publisher.planning.actions.create import Create
from publisher.planning.actions.create_and_load import CreateAndLoad
from publisher.planning.actions.drop_and_load import DropAndLoad
from publisher.planning.actions.load import Load
from publisher.planning.actions.merge import Merge
from publisher.planning.actions.truncate_and_load import TruncateAndLoad

STRATEGIES: dict[Action, Strategy] = {
    s.action: s for s in (Create(), Load(), CreateAndLoad(), TruncateAndLoad(), DropAndLoad(), Merge())
}
