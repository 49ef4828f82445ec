"""publisher serve without a server: the server: config section, request bodies as specs
(errors as JSON pointers), token checks, the CLI's refusals. Over HTTP: tests/integration/test_serve_http.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from publisher import cli
from publisher.inputs.config import ServerSettings, load_config
from publisher.inputs.request import parse_body, request_spec
from publisher.inputs.validation import schema
from publisher.model.errors import Errors
from publisher.model.secret import Secret

CONFIG = """\
results: results/{jobGroup}/{flowNodeId}/
connections:
  - {id: 1, name: local, type: hive, embedded: true}
"""
BODY = {"connection": {"id": 1}, "path": ["default"], "table": "t", "action": "create", "inputFormat": "pqt"}
BODY["flowNodeId"] = 27


def config_file(tmp_path: Path, server: str = "") -> Path:
    path = tmp_path / "publisher.yaml"
    path.write_text(CONFIG + server)
    return path


def test_server_section_tokens_are_secret_references(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, "server: {tokens: ['${API_A}', '${API_B}'], port: 9000}\n"))
    assert config.server == ServerSettings(tokens=(Secret("API_A"), Secret("API_B")), port=9000)
    assert config.server.host == "127.0.0.1" and config.server.concurrency == 2


@pytest.mark.parametrize(
    ("server", "found"),
    [
        ("server: {tokens: [plain-token-in-the-file]}", "server.tokens[0] must be an environment variable reference"),
        ("server: {tokens: []}", "server.tokens"),
        ("server: {port: 80}", "missing required key 'tokens' in server"),
        ("server: {tokens: ['${A}'], concurrency: 0}", "server.concurrency"),
        ("server: {tokens: ['${A}'], hots: x}", "did you mean 'host'?"),
    ],
)
def test_server_section_errors(tmp_path: Path, server: str, found: str) -> None:
    with pytest.raises(Errors) as err:
        load_config(config_file(tmp_path, server + "\n"))
    text = "\n".join(str(e) for e in err.value.errors)
    assert found in text
    assert "plain-token-in-the-file" not in text


def test_server_defaults_are_the_schemas() -> None:
    properties = schema("config.schema.json")["$defs"]["server"]["properties"]
    assert {k: v.get("default") for k, v in properties.items() if k != "tokens"} == {
        "host": ServerSettings.host,
        "port": ServerSettings.port,
        "concurrency": ServerSettings.concurrency,
        "readTimeout": ServerSettings.read_timeout,
        "keepAliveTimeout": ServerSettings.keep_alive_timeout,
        "maxRequests": ServerSettings.max_requests,
    }


def test_a_valid_body_is_the_spec_of_the_path_job_group(tmp_path: Path) -> None:
    spec, problems = request_spec(BODY, 31, load_config(config_file(tmp_path)))
    assert problems == [] and spec is not None
    assert (spec.job_group, spec.flow_node_id, spec.relation.database, spec.relation.name) == (31, 27, "default", "t")
    assert spec.file == "PUT /v4/jobGroups/31/publish"
    assert spec.source == str(tmp_path / "results" / "31" / "27") + "/"


def test_every_problem_of_a_body_at_its_json_pointer(tmp_path: Path) -> None:
    body = {**BODY, "path": ["ok", "two"], "table": "a b", "columnTypes": {"x": "INT;"}}
    body["connection"] = {"id": 7}
    _, problems = request_spec(body, 31, load_config(config_file(tmp_path)))
    paths = [p.path for p in problems]
    assert set(paths) == {"/path", "/table", "/columnTypes/x", "/connection/id"}, problems
    assert all(not p.message.startswith("PUT") for p in problems)


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b"[]", "must be a JSON object"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": Infinity}', "Infinity is not a JSON number"),
        (b"\xff", "not UTF-8"),
        (b"[" * 50_000, "nested more than"),
    ],
)
def test_bodies_that_are_not_one_json_object(body: bytes, found: str) -> None:
    value, problems = parse_body(body)
    assert value is None and found in problems[0].message


def test_tokens_are_compared_whole_and_with_the_bearer_scheme(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from publisher.serve.app import Server

    server = Server(load_config(config_file(tmp_path)), ["a" * 20, "b" * 20], 1)
    assert server.authorized("Bearer " + "a" * 20) and server.authorized("bearer " + "b" * 20)
    for header in (None, "", "Bearer", "Bearer " + "a" * 19, "Bearer " + "a" * 21, "Basic " + "a" * 20):
        assert not server.authorized(header), header


def test_serve_refuses_without_a_server_section_or_with_a_short_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--config", str(config_file(tmp_path))]) == cli.EXIT_FAILED
    assert "has no server: section" in capsys.readouterr().err
    path = config_file(tmp_path, "server: {tokens: ['${PUBLISHER_TEST_SECRET}']}\n")
    monkeypatch.delenv("PUBLISHER_TEST_SECRET", raising=False)
    assert cli.main(["serve", "--config", str(path)]) == cli.EXIT_FAILED
    assert "PUBLISHER_TEST_SECRET is not set" in capsys.readouterr().err
    monkeypatch.setenv("PUBLISHER_TEST_SECRET", "short-secret")
    assert cli.main(["serve", "--config", str(path)]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "at least 16 characters" in err and "short-secret" not in err


def test_unknown_keys_are_listed_without_job_group(tmp_path: Path) -> None:
    _, problems = request_spec({**BODY, "tabel": "t"}, 31, load_config(config_file(tmp_path)))
    [problem] = problems
    assert problem.path == "/tabel" and "did you mean 'table'" in problem.message
    assert "(allowed: connection, path, table" in problem.message


def test_open_api_request_body_is_the_spec_schema_without_job_group() -> None:
    pytest.importorskip("starlette")
    from publisher.serve.openapi import openapi_document

    spec = schema("publish-spec.schema.json")
    document = openapi_document()
    request = document["components"]["schemas"]["PublishRequest"]
    assert list(request["properties"]) == [k for k in spec["properties"] if k not in ("$schema", "jobGroup")]
    refs = set(_values(document, "$ref"))
    assert refs and all(r.removeprefix("#/components/schemas/") in document["components"]["schemas"] for r in refs)


def _values(node: object, key: str) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in _values(v, key)]
    if isinstance(node, list):
        return [x for v in node for x in _values(v, key)]
    return []


def test_finished_sessions_kept_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("starlette")
    from publisher.serve import sessions
    from publisher.serve.redact import Redactor

    monkeypatch.setattr(sessions, "KEPT", 3)
    config = load_config(config_file(tmp_path))
    kept = sessions.Sessions(config, 1, Redactor(config))
    made = [kept.remember(sessions.Session(f"s{i}", i, {}, state="Complete")) for i in range(5)]
    assert [kept.get(s.id) for s in made] == [None, None, *made[2:]]
    assert kept.latest(0) is None and kept.latest(4) is made[4]


JSON_VALUES = [True, False, None, 0, 7, -3, 1.5, "", "x", [], ["a", 1], [None], {}, {"a": None}, {"a": True}]
"""A value of every JSON type, and containers holding them."""

FIELDS = {
    # pointer: the kind of field it is
    "/flowNodeId": "integer",
    "/connection": "object",
    "/connection/id": "integer",
    "/connection/name": "identifier",
    "/path": "array of one identifier",
    "/path/0": "identifier",
    "/table": "table name",
    "/action": "enum",
    "/inputFormat": "enum",
    "/source": "location",
    "/description": "string",
    "/columnTypes": "object of types",
    "/columnTypes/x": "SQL type",
    "/allowNarrowing": "array of identifiers",
    "/partitionBy": "array of identifiers",
    "/partition": "object of values",
    "/partition/x": "string or integer",
    "/overwrite": "enum",
    "/mergeKeys": "array of identifiers",
    "/mergeKeys/0": "identifier",
    "/onSchemaChange": "enum",
    "/distStyle": "enum",
    "/distKey": "identifier",
    "/sortKeys": "array of identifiers",
}
PYTHON_WORDS = re.compile(r"\b(True|False|None|NoneType|dict|str|int|float|bool)\b|\[\'|\{\'|\(found \'")


def _body_with(pointer: str, value: object) -> dict[str, object]:
    body: dict[str, object] = json.loads(json.dumps(BODY))
    key, _, sub = pointer[1:].partition("/")
    if not sub:
        body[key] = value
    elif sub == "0":
        body[key] = [value]
    else:
        body[key] = {sub: value}
    return body


@pytest.mark.parametrize("pointer", FIELDS)
def test_type_errors_speak_json_in_every_field(tmp_path: Path, pointer: str) -> None:
    config = load_config(config_file(tmp_path))
    for value in JSON_VALUES:
        _, problems = request_spec(_body_with(pointer, value), 31, config)
        for problem in problems:
            assert not PYTHON_WORDS.search(problem.message), (pointer, value, problem)
        if value is True or value is False or value is None:  # wrong in every field: named as JSON writes it
            here = [p for p in problems if p.path == pointer]
            assert here, (pointer, value, problems)
            assert json.dumps(value) in here[0].message, (pointer, value, here)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "connection.id must be of type integer (found true, a boolean)"),
        (None, "connection.id must be of type integer (found null)"),
        ("1", 'connection.id must be of type integer (found "1", a string)'),
        (1.5, "connection.id must be of type integer (found 1.5, a number)"),
        ([1], "connection.id must be of type integer (found [1], an array)"),
        ({"a": None}, 'connection.id must be of type integer (found {"a": null}, an object)'),
    ],
)
def test_a_type_error_names_the_value_and_its_json_type(tmp_path: Path, value: object, message: str) -> None:
    _, problems = request_spec(_body_with("/connection/id", value), 31, load_config(config_file(tmp_path)))
    assert [(p.path, p.message) for p in problems] == [("/connection/id", message)]


def test_enum_errors_show_json_and_hint_only_for_strings(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    _, problems = request_spec({**BODY, "overwrite": False}, 31, config)
    assert [p.message for p in problems] == ["overwrite: false is not one of table, partitions"]
    _, problems = request_spec({**BODY, "action": "creat"}, 31, config)
    assert problems[0].message.startswith('action: "creat" is not one of create, load')
    assert problems[0].message.endswith("did you mean 'create'?")


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"null", "null"), (b"true", "a boolean"), (b"1", "an integer"), (b"1.5", "a number"), (b'"x"', "a string")],
)
def test_a_body_that_is_not_an_object_is_named_in_json_words(body: bytes, kind: str) -> None:
    _, problems = parse_body(body)
    assert [p.message for p in problems] == [f"the body must be a JSON object (a publish spec), not {kind}"]


def _run_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apply: object) -> dict[str, object]:
    """A session run with the planner and executor stubbed: a plan of table t_1 and 2 rows, then ``apply``."""
    pytest.importorskip("starlette")
    from types import SimpleNamespace

    from publisher.serve import sessions
    from publisher.serve.redact import Redactor

    publication = SimpleNamespace(table="t_1", rows=2, status="pending", status_detail="")
    monkeypatch.setattr(sessions, "Pool", lambda config: SimpleNamespace(close=lambda: None))
    monkeypatch.setattr(sessions, "make_plan", lambda *a, **k: SimpleNamespace(publications=[publication]))
    monkeypatch.setattr(sessions, "apply_plan", apply)
    config = load_config(config_file(tmp_path))
    spec, _ = request_spec(BODY, 31, config)
    assert spec is not None
    running = sessions.Sessions(config, 1, Redactor(config))
    session = running.submit(spec)
    running.shutdown()  # waits for it
    return session.to_json()


def _failed_outcome(*args: object, **kwargs: object) -> list[object]:
    from types import SimpleNamespace

    return [SimpleNamespace(error=SimpleNamespace(message="the row count check failed: 1 row, expected 2"))]


def _raises(*args: object, **kwargs: object) -> list[object]:
    raise ConnectionResetError("the target went away")


@pytest.mark.parametrize("apply", [_failed_outcome, _raises], ids=["failed", "raised"])
def test_a_failed_session_reports_no_rows_as_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apply: object
) -> None:
    session = _run_session(tmp_path, monkeypatch, apply)
    assert session["state"] == "Failed" and session["error"]
    publication = session["publication"]
    assert isinstance(publication, dict)
    assert (publication["rows"], publication["publishedTable"]) == (None, None)
    assert (publication["plannedTable"], publication["resultRows"]) == ("t_1", 2)  # what was tried, named as such


def test_a_complete_session_reports_its_rows_as_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    session = _run_session(tmp_path, monkeypatch, lambda *a, **k: [SimpleNamespace(error=None, skipped=False)])
    assert session["state"] == "Complete"
    publication = session["publication"]
    assert isinstance(publication, dict)
    assert (publication["publishedTable"], publication["rows"], publication["resultRows"]) == ("t_1", 2, 2)


def test_a_pending_ledger_row_reports_no_rows_as_published() -> None:
    pytest.importorskip("starlette")
    from publisher.planning.ledger import Entry
    from publisher.serve.sessions import describe_entry

    fields = dict(job_group=31, flow_node_id=27, connection_id=1, database_name="default", table_name="t")
    fields.update(action="create", published_table="t_1", row_count=2, rows_before=None, stamp="20261201000000")
    fields.update(location_before=None, spec_file="s.yaml", spec_hash="h", spec_b64="", run_id="r")
    pending = describe_entry(Entry(**fields, state="pending", published_at="2026-12-01 00:00:00"), "local")  # type: ignore[arg-type]
    done = describe_entry(Entry(**fields, state="done", published_at="2026-12-01 00:00:00"), "local")  # type: ignore[arg-type]
    assert (pending["state"], pending["rows"], pending["publishedTable"], pending["resultRows"]) == (
        "pending",
        None,
        None,
        2,
    )
    assert (done["state"], done["rows"], done["publishedTable"]) == ("published", 2, "t_1")
