"""The commands' work, without output: plan, apply, a saved plan checked, the ledger read for
status and serve. The CLI and serve print and answer; these return values."""

from publisher.workflow.apply import Outcome, apply_plan
from publisher.workflow.history import ledger_rows
from publisher.workflow.make import config_hash, inspect, make_plan, replan
from publisher.workflow.saved import differences, fingerprint

__all__ = [
    "Outcome",
    "apply_plan",
    "config_hash",
    "differences",
    "fingerprint",
    "inspect",
    "ledger_rows",
    "make_plan",
    "replan",
]
