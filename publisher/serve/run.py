"""Starting publisher serve: engines warmed up, then uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import sys
import time

import uvicorn

from publisher.engines.pool import open_target
from publisher.inputs.config import Config, ServerSettings
from publisher.model.relation import Relation
from publisher.serve.app import create_app
from publisher.serve.protocol import limited

log = logging.getLogger("publisher.serve")


def serve(config: Config, tokens: list[str], host: str, port: int, limits: ServerSettings) -> None:
    """Serve until stopped; on SIGTERM, running publications finish first (queued ones are failed)."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # a line per closed gateway connection
    for connection in config.connections:
        if connection.type != "s3" and connection.target_settings.starts_slowly:
            # Started before listening: the first PUT should not wait ~15 s for Spark.
            started = time.monotonic()
            target = open_target(connection, config)
            target.namespace_exists(Relation("default", None, "warm_up"))  # the metastore's first call is slow
            target.close()
            log.info(
                "%s: embedded %s engine ready in %.1fs",
                connection.label,
                connection.target.title,
                time.monotonic() - started,
            )
    concurrency = limits.concurrency
    app, _ = create_app(config, tokens, concurrency)
    settings = uvicorn.Config(
        app,
        host=host,
        port=port,
        # h11 always (not httptools, were it installed): the protocol that bounds reading a
        # request and caps the requests answered at once. uvicorn's limit_concurrency is left
        # off: it counts half-sent connections too (publisher/serve/protocol.py says why).
        http=limited(limits.read_timeout, limits.max_requests),
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]  # typed int, used as a float
        log_config=None,  # the root logger above; uvicorn's own access log is off: Guard writes one
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=None,  # wait for every request in flight
    )
    log.info(
        "publisher serve on http://%s:%d (%d publication(s) at once; at most %d requests at once, "
        "%gs to send a request, %gs idle)",
        host,
        port,
        concurrency,
        limits.max_requests,
        limits.read_timeout,
        limits.keep_alive_timeout,
    )
    uvicorn.Server(settings).run()
