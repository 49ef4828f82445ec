"""The OpenAPI 3.1 document of publisher serve (GET /v4/open-api-spec), written by hand; the
request body's schema is the publish spec schema itself, without jobGroup (the path's id)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from publisher.inputs.validation import schema


def _refs_to_components(node: Any) -> Any:
    """The spec schema's ``#/$defs/x`` references as ``#/components/schemas/spec_x``."""
    if isinstance(node, dict):
        return {
            k: (v.replace("#/$defs/", "#/components/schemas/spec_") if k == "$ref" else _refs_to_components(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_refs_to_components(v) for v in node]
    return node


def _request_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    spec = copy.deepcopy(schema("publish-spec.schema.json"))
    defs = spec.pop("$defs", {})
    for key in ("$schema", "$id"):
        spec.pop(key, None)
    for key in ("jobGroup", "$schema"):
        spec["properties"].pop(key, None)
    spec["required"] = [k for k in spec["required"] if k != "jobGroup"]
    spec["title"] = "PublishRequest"
    spec["description"] = "A publish spec without jobGroup: the path's id is the job group."
    components = {f"spec_{name}": _refs_to_components(d) for name, d in defs.items()}
    return _refs_to_components(spec), components


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


ERROR = "#/components/schemas/Error"
UNAUTHORIZED = _json(ERROR, "no token, or a wrong one")
JOB_GROUP = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},  # a BIGINT, as the spec schema's jobGroup
}
NO_ROUTE = _json(ERROR, "no such job group: its id is not a whole number from 1 to 2^63 - 1")


@cache
def openapi_document() -> dict[str, Any]:
    request, spec_defs = _request_schema()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "publisher serve",
            "version": "4",
            "description": "The ad-hoc publish endpoint of a data-preparation platform (v4), served by publisher "
            "from the same planner, executor and ledger as its command line.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v4/jobGroups/{id}/publish": {
                "put": {
                    "summary": "Publish a job group's results into a table",
                    "parameters": [JOB_GROUP],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishRequest"}}},
                    },
                    "responses": {
                        "200": _json(
                            "#/components/schemas/PublishStarted",
                            "planned and queued (JobStarted), already running (JobRunning) or already published "
                            "(AlreadyPublished: the session of that publication, Complete)",
                        ),
                        "400": _json(
                            ERROR,
                            "invalid body (ValidationError, every problem in details) or a "
                            "publication that cannot be planned (PlanError); nothing ran",
                        ),
                        "401": UNAUTHORIZED,
                        "404": NO_ROUTE,
                        "413": _json(ERROR, "body over 1 MB"),
                        "415": _json(ERROR, "body not application/json"),
                        "503": _json(ERROR, "the server is shutting down"),
                    },
                }
            },
            "/v4/jobGroups/{id}/status": {
                "get": {
                    "summary": "The state of the job group's latest publish session (else what the ledgers hold)",
                    "parameters": [JOB_GROUP],
                    "responses": {
                        "200": {
                            "description": "a bare JSON string",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/State"}}},
                        },
                        "401": UNAUTHORIZED,
                        "404": _json(
                            ERROR,
                            "no session of this job group, on this server or in the ledgers; or the id is not "
                            "a whole number from 1 to 2^63 - 1",
                        ),
                        "503": _json(ERROR, "a ledger could not be read"),
                    },
                }
            },
            "/v4/jobGroups/{id}/publications": {
                "get": {
                    "summary": "What the ledgers of every target hold for the job group",
                    "parameters": [JOB_GROUP],
                    "responses": {
                        "200": _json("#/components/schemas/Publications", "ledger rows, oldest first"),
                        "401": UNAUTHORIZED,
                        "404": NO_ROUTE,
                        "503": _json(ERROR, "a target could not be read"),
                    },
                }
            },
            "/v4/sessions/{sessionId}": {
                "get": {
                    "summary": "A publish session: state, publication, steps, error",
                    "parameters": [{"name": "sessionId", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json("#/components/schemas/Session", "the session"),
                        "401": UNAUTHORIZED,
                        "404": _json(ERROR, "no such session, on this server or in the ledgers"),
                        "503": _json(ERROR, "a ledger could not be read"),
                    },
                }
            },
            "/v4/open-api-spec": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}, "401": UNAUTHORIZED},
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness, without authentication",
                    "security": [],
                    "responses": {"200": {"description": '{"status": "ok"}'}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "PublishRequest": request,
                **spec_defs,
                "State": {"enum": ["Created", "InProgress", "Complete", "Failed"]},
                "PublishStarted": {
                    "type": "object",
                    "required": ["jobgroupId", "reason", "sessionId"],
                    "properties": {
                        "jobgroupId": {"type": "integer"},
                        "reason": {"enum": ["JobStarted", "JobRunning", "AlreadyPublished"]},
                        "sessionId": {"type": "string", "format": "uuid"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["exception"],
                    "properties": {
                        "exception": {
                            "type": "object",
                            "required": ["name", "message"],
                            "properties": {
                                "name": {"type": "string", "examples": ["ValidationError"]},
                                "message": {"type": "string"},
                                "details": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "path": {"type": "string", "description": "JSON pointer into the body"},
                                            "message": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        }
                    },
                },
                "Publication": {
                    "type": "object",
                    "properties": {
                        "jobGroup": {"type": "integer"},
                        "flowNodeId": {"type": "integer"},
                        "connection": {"type": "object"},
                        "database": {"type": "string"},
                        "table": {"type": "string"},
                        "action": {"type": "string"},
                        "plannedTable": {
                            "type": ["string", "null"],
                            "description": "the table the plan writes into, once planned",
                        },
                        "resultRows": {
                            "type": ["integer", "null"],
                            "description": "the results' rows by their metadata, once planned (null for csv, json)",
                        },
                        "publishedTable": {
                            "type": ["string", "null"],
                            "description": "the table published into: null unless the publication is complete",
                        },
                        "rows": {
                            "type": ["integer", "null"],
                            "description": "the rows published: null unless complete (a failed publication is undone)",
                        },
                    },
                },
                "Publications": {
                    "type": "object",
                    "properties": {
                        "jobgroupId": {"type": "integer"},
                        "publications": {"type": "array", "items": {"$ref": "#/components/schemas/Publication"}},
                    },
                },
                "Session": {
                    "type": "object",
                    "properties": {
                        "sessionId": {"type": "string"},
                        "jobgroupId": {"type": "integer"},
                        "state": {"$ref": "#/components/schemas/State"},
                        "reason": {"type": "string"},
                        "publication": {"$ref": "#/components/schemas/Publication"},
                        "createdAt": {"type": ["string", "null"]},
                        "startedAt": {"type": ["string", "null"]},
                        "finishedAt": {"type": ["string", "null"]},
                        "steps": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "index": {"type": "integer"},
                                    "purpose": {"type": "string"},
                                    "state": {"enum": ["running", "done", "failed"]},
                                    "elapsedSeconds": {"type": "number"},
                                    "rows": {"type": ["integer", "null"]},
                                },
                            },
                        },
                        "error": {"type": ["string", "null"], "description": "one line, when Failed"},
                        "note": {"type": ["string", "null"]},
                        "warnings": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    }
