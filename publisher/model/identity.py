"""A publication's identity, shared by specs, plans and the ledger."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublicationId:
    """What makes two publications the same one: the ledger's key, the plan's, the spec's."""

    job_group: int
    flow_node_id: int
    connection_id: int
    database: str
    table: str  # the spec's table, schema-qualified on Redshift
    action: str

    def label(self) -> str:
        return f"jobGroup {self.job_group} / flowNodeId {self.flow_node_id}"
