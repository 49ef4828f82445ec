"""OpenLineage: each publication's START and COMPLETE, FAIL or ABORT event, built from its Publication
and sent with the official client (openlineage-python) off the publication's thread.

Off unless configured (``lineage:`` in publisher.yaml, or the client's own OPENLINEAGE_URL,
OPENLINEAGE_CONFIG, openlineage.yml): then, and only then, the client is imported. Never in the
way: a publication waits for its events at most the timeout, and a failure to send is one
warning; the publication's outcome is its own. Naming follows the OpenLineage naming spec.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from publisher.apply.executor import mask_secrets
from publisher.inputs.config import Config, LineageSettings
from publisher.model.plan import Publication
from publisher.model.secret import Secret
from publisher.planning.actions import STRATEGIES
from publisher.planning.actions.base import Strategy
from publisher.targets import target


def _producer() -> str:
    """The events' producer, a URI as the spec asks: this distribution and its version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"urn:warehouse-publisher:{version('warehouse-publisher')}"
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "urn:warehouse-publisher"


Change = Literal["CREATE", "OVERWRITE"]


def _change(strategy: Strategy) -> Change | None:
    """What the action does to its table, as lifecycleStateChange says it: a new table, or the
    table's rows replaced; actions that add rows to a table that stays (load, merge) get no facet."""
    if strategy.makes_timestamped_table:
        return "CREATE"
    return "OVERWRITE" if strategy.replaces_table else None


LIFECYCLE: dict[str, Change | None] = {action: _change(strategy) for action, strategy in STRATEGIES.items()}


def _env_configured() -> bool:
    """The client's own configuration is there: its variables or an openlineage.yml where it looks."""
    if os.environ.get("OPENLINEAGE_URL") or os.environ.get("OPENLINEAGE_CONFIG"):
        return True
    if any(k.startswith("OPENLINEAGE__TRANSPORT") for k in os.environ):
        return True
    return Path("openlineage.yml").is_file() or (Path.home() / ".openlineage" / "openlineage.yml").is_file()


def _read(value: str | Secret | None) -> str | None:
    """A value as written, or its variable's; an unset variable is no value (lineage stays off,
    as the client's own OPENLINEAGE_URL unset leaves it), never an error in the way."""
    return os.environ.get(value.env) or None if isinstance(value, Secret) else value


def _url(settings: LineageSettings | None) -> str | None:
    """The HTTP receiver's base URL: the lineage: section's, else OPENLINEAGE_URL."""
    return (settings and _read(settings.url)) or os.environ.get("OPENLINEAGE_URL") or None


def enabled(settings: LineageSettings | None) -> bool:
    """Whether events will be sent (no import of the client to know it)."""
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    return bool(_url(settings)) or _env_configured()


def namespace(settings: LineageSettings | None) -> str:
    return (settings and settings.namespace) or os.environ.get("OPENLINEAGE_NAMESPACE") or "default"


def _shown_url(url: str) -> str:
    """A URL without what may be a credential in it (user:password@, the query)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def where(settings: LineageSettings | None) -> str:
    """For the plan: whether lineage will be sent and where, never the key."""
    if not enabled(settings):
        return "not sent (set OPENLINEAGE_URL, or lineage: in publisher.yaml)"
    url = _url(settings)
    if url:
        endpoint = settings.endpoint if settings else os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
        to = urljoin(_shown_url(url), endpoint)  # as the client's HTTP transport joins them
    else:
        to = "the transport openlineage.yml or OPENLINEAGE_CONFIG names"
    return f"OpenLineage events to {to}, namespace {namespace(settings)}"


def secret_names(config: Config) -> tuple[str, ...]:
    """Every ${NAME} secret of the config, masked in any text an event carries."""
    names = [
        value.env
        for connection in config.connections
        for f in fields(connection.settings)
        if isinstance(value := getattr(connection.settings, f.name), Secret)
    ]
    if config.server is not None:
        names += [token.env for token in config.server.tokens]
    if config.lineage is not None:
        names += [v.env for v in (config.lineage.url, config.lineage.api_key) if isinstance(v, Secret)]
    return (*dict.fromkeys(names), "OPENLINEAGE_API_KEY")


# --------------------------------------------------------------------------- naming


def run_id(value: str) -> str:
    """The publication's run id (the ledger's: a hex or dashed uuid) as the spec's UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, value))


def input_dataset(source: str) -> tuple[str, str]:
    """The results' (namespace, name): s3://bucket and the prefix, or file and the folder's path."""
    if source.startswith("s3://"):
        bucket, _, key = source[len("s3://") :].partition("/")
        return f"s3://{bucket}", key.rstrip("/")
    return "file", source.rstrip("/") or "/"


def output_dataset(publication: Publication, config: Config) -> tuple[str, str]:
    """The table's (namespace, name): the engine's namespace, database[.schema].table."""
    connection = config.find(publication.id.connection_id)
    assert connection is not None, f"{publication.label}: its connection is not in publisher.yaml"
    descriptor = target(publication.target_type)
    table = publication.table
    if descriptor.has_schemas and "." not in table and descriptor.default_schema:
        table = f"{descriptor.default_schema}.{table}"
    return connection.target_settings.lineage_namespace, f"{publication.database}.{table}"


def job_name(publication: Publication) -> str:
    """One job per publication into a table: the same name run after run."""
    return f"publish.{publication.connection}.{publication.database}.{publication.id.table}"


def parent_run_id(space: str, job_group: int) -> str:
    """The job group's run, a stable UUID: every publication of job group 31 names the same parent."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"openlineage:{space}/jobGroup.{job_group}"))


def _results_files(publication: Publication) -> tuple[int, int] | None:
    """(files, bytes) of the results, as the plan's fingerprint recorded them."""
    files = publication.fingerprint.get("files")
    if not isinstance(files, list):
        return None
    return len(files), sum(int(f[1]) for f in files if isinstance(f, list) and len(f) == 3)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:1000]


def event(
    kind: str,
    publication: Publication,
    run: str,
    config: Config,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> Any:
    """The RunEvent of ``kind`` (START, COMPLETE, FAIL, ABORT) for ``publication`` run as ``run``."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import (
        column_lineage_dataset,
        error_message_run,
        lifecycle_state_change_dataset,
        output_statistics_output_dataset,
        parent_run,
        schema_dataset,
    )

    producer = _producer()
    space = namespace(config.lineage)
    in_space, in_name = input_dataset(publication.source)
    out_space, out_name = output_dataset(publication, config)

    def schema(columns: tuple[tuple[str, str], ...]) -> Any:
        return schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns], producer=producer
        )

    sources = {name.lower(): name for name, _ in publication.source_columns}
    # The table's columns: the data columns written, then the static partition columns (their
    # value is the spec's, so no input field feeds them).
    written = publication.columns + publication.static_partitions
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            name: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=in_space,
                        name=in_name,
                        field=sources[name.lower()],
                        transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")],
                    )
                ]
                if name.lower() in sources
                else []  # a column the results do not have (a static partition's): from none
            )
            for name, _ in written
        },
        producer=producer,
    )
    facets: dict[str, Any] = {"schema": schema(written), "columnLineage": lineage}
    change = LIFECYCLE.get(publication.action)
    if change:
        facets["lifecycleStateChange"] = lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
            lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange(change), producer=producer
        )
    output_facets: dict[str, Any] = {}
    if kind == "COMPLETE":
        files = _results_files(publication) if publication.rows != 0 else None
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=publication.rows,
            fileCount=files[0] if files else None,
            size=files[1] if files else None,
            producer=producer,
        )
    run_facets: dict[str, Any] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_run_id(space, publication.id.job_group)),
            job=parent_run.Job(namespace=space, name=f"jobGroup.{publication.id.job_group}"),
            producer=producer,
        )
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=_one_line(mask_secrets(error, secret_names(config))),
            programmingLanguage="PYTHON",
            producer=producer,
        )
    return RunEvent(
        eventType=RunState(kind),
        eventTime=(now or datetime.now(UTC)).isoformat(),
        run=Run(runId=run, facets=run_facets),
        job=Job(namespace=space, name=job_name(publication)),
        inputs=[
            InputDataset(
                namespace=in_space,
                name=in_name,
                facets={"schema": schema(publication.source_columns)} if publication.source_columns else {},
            )
        ],
        outputs=[OutputDataset(namespace=out_space, name=out_name, facets=facets, outputFacets=output_facets)],
        producer=producer,
    )


# --------------------------------------------------------------------------- sending


def client(settings: LineageSettings | None) -> Any:
    """The official client: HTTP to the configured URL with the short timeout and no retries
    (a retry would wait past it); else as the client's own configuration says."""
    from openlineage.client import OpenLineageClient

    url = _url(settings)
    if not url:
        return OpenLineageClient()
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider

    key = _read(settings.api_key) if settings and settings.api_key else os.environ.get("OPENLINEAGE_API_KEY")
    endpoint = settings.endpoint if settings else os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    http = HttpConfig(
        url=url,
        endpoint=endpoint,
        timeout=settings.timeout if settings else 2.0,
        auth=ApiKeyTokenProvider({"apiKey": key}) if key else TokenProvider({}),
        retry={"total": 0, "read": 0, "connect": 0, "status": 0},
    )
    before = {k: v for k, v in os.environ.items() if k.startswith("OPENLINEAGE__")}
    try:
        return OpenLineageClient(transport=HttpTransport(http))
    finally:
        # The client copies OPENLINEAGE_URL (and the key) into OPENLINEAGE__TRANSPORT__* variables
        # of this process; put back as they were, so that a later apply in this process (serve, the
        # tests) reads the configuration as the user set it, and the key sits in one variable only.
        for key in [k for k in os.environ if k.startswith("OPENLINEAGE__") and k not in before]:
            del os.environ[key]
        os.environ.update(before)


@dataclass
class _Item:
    event: Any
    sent: threading.Event = field(default_factory=threading.Event)


Warn = Callable[[Publication, str], None]


class Lineage:
    """One apply's events: built on the publication's thread, sent in order by one thread of
    their own. ``finish`` waits for the publication's last event at most ``timeout`` seconds;
    after the first failure to send, the rest of this apply's events are dropped (one warning)."""

    def __init__(self, config: Config, warn: Warn) -> None:
        self.config = config
        self.timeout = config.lineage.timeout if config.lineage else 2.0
        self._warn = warn
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._failed: str | None = None
        self._warned = False
        self._lock = threading.Lock()
        self._started: set[str] = set()
        self._client: Any = None
        self._thread = threading.Thread(target=self._send_all, name="lineage", daemon=True)
        self._thread.start()

    def start(self, publication: Publication, run: str) -> None:
        """START, once per run: when the publication's guard found it not yet published."""
        with self._lock:
            if run in self._started:
                return
            self._started.add(run)
        self._put(publication, "START", run, None)

    def finish(self, publication: Publication, run: str, error: str | None, *, aborted: bool = False) -> None:
        """COMPLETE, or FAIL with ``error`` (ABORT where it stopped before any change, to be
        planned again); then wait (at most the timeout) for it to be sent."""
        with self._lock:
            started = run in self._started
            self._started.discard(run)  # planned again, the same run (serve's session) starts again
        if not started and (error is None or aborted):
            return  # nothing ran: already published, a dry run, or stopped before its guard
        if not started:
            self._put(publication, "START", run, None)
        kind = "COMPLETE" if error is None else "ABORT" if aborted else "FAIL"
        item = self._put(publication, kind, run, error)
        if item is not None and not item.sent.wait(self.timeout) and self._failed is None:
            self._failed = f"not sent within {self.timeout:g}s (the lineage server did not answer)"
        if self._failed is not None:
            with self._lock:
                warned, self._warned = self._warned, True
            if not warned:
                self._warn(publication, f"{self._failed}; this apply sends no more lineage events")

    def close(self) -> None:
        self._queue.put(None)

    def _put(self, publication: Publication, kind: str, run: str, error: str | None) -> _Item | None:
        if self._failed is not None:
            return None
        try:
            item = _Item(event(kind, publication, run_id(run), self.config, error=error))
        except ImportError:
            self._failed = "the OpenLineage client is not installed: pip install 'warehouse-publisher[lineage]'"
            return None
        except Exception as exc:  # a bug here must not fail the publication
            self._failed = f"event not built: {type(exc).__name__}: {_one_line(str(exc))[:200]}"
            return None
        self._queue.put(item)
        return item

    def _send_all(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failed is None:
                try:
                    if self._client is None:
                        self._client = client(self.config.lineage)
                    self._client.emit(item.event)
                except Exception as exc:
                    text = mask_secrets(_one_line(str(exc) or type(exc).__name__), secret_names(self.config))
                    self._failed = f"not sent: {text[:300]}"
            item.sent.set()
