"""``POST /api/v1/alertmanager/webhook``: Alertmanager's webhook receiver, bearer-token guarded.

Point an Alertmanager ``webhook_config`` here and its alerts are routed, notified and
remediated like Watchkeeper's own::

    receivers:
      - name: watchkeeper
        webhook_configs:
          - url: http://watchkeeper:9464/api/v1/alertmanager/webhook
            http_config:
              authorization: {credentials: <alertmanager_webhook.token>}

Answers: 200 ``{"status": "success", "alerts": N}``; 400 with every problem of a
malformed body, by JSON path (Alertmanager does not retry a 4xx); 401 for a missing or
wrong token; 413 for a body over 10 MiB; 503 when no token is configured, or when the
database is unavailable (Alertmanager retries a 5xx; a repeated message changes nothing).
"""

from __future__ import annotations

import hmac
import logging

from fastapi import FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from monitor.alerting import Transition
from monitor.alerting.alertmanager_in import WebhookMessage, WebhookPayloadError, to_signals
from monitor.alerting.alertmanager_in import parse_webhook as parse_webhook_body
from monitor.config.secrets import Secret
from monitor.core.errors import StoreError
from monitor.service.loop import Loop

__all__ = ["DISABLED", "MAX_BODY_BYTES", "WEBHOOK_PATH", "authorized", "feed", "register"]

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/v1/alertmanager/webhook"
MAX_BODY_BYTES = 10 * 1024 * 1024
DISABLED = ("the Alertmanager webhook is disabled; "
            "set alertmanager_webhook.token in watchkeeper.yaml")
_UNAUTHORIZED = "missing or wrong bearer token"


def authorized(header: str | None, token: Secret) -> bool:
    """Return whether an ``Authorization`` header carries *token*, compared in constant time."""
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.reveal().encode())


def feed(loop: Loop, message: WebhookMessage) -> list[Transition]:
    """Advance the message's alerts, queue their notifications and remediation runs.

    :meth:`Loop.ingest` does it under the evaluation lock, so a webhook and an evaluation
    never read and write the alert states at once; it raises (a :class:`StoreError`), so
    the caller can ask Alertmanager to retry.
    """
    return loop.ingest(to_signals(message))


async def _read_body(request: Request) -> bytes:
    """Return the request body; 413 past :data:`MAX_BODY_BYTES`, without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the body is {declared} bytes, at most {MAX_BODY_BYTES}; "
                            "lower max_alerts in the webhook_config")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(413, f"the body is over {MAX_BODY_BYTES} bytes; "
                                "lower max_alerts in the webhook_config")
        chunks.append(chunk)
    return b"".join(chunks)


def register(app: FastAPI, loop: Loop) -> None:
    """Add ``POST /api/v1/alertmanager/webhook`` to *app*, feeding alerts into *loop*."""
    token = loop.app.config.alertmanager_webhook_token

    @app.post(WEBHOOK_PATH)
    async def alertmanager_webhook(request: Request) -> dict[str, object]:
        if token is None:
            raise HTTPException(503, DISABLED)
        if not authorized(request.headers.get("authorization"), token):
            log.warning("Alertmanager webhook: refused a request from %s: %s",
                        request.client.host if request.client else "?", _UNAUTHORIZED)
            raise HTTPException(401, _UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        body = await _read_body(request)
        try:
            message = parse_webhook_body(body)
        except WebhookPayloadError as exc:
            log.warning("Alertmanager webhook: refused a malformed body: %s", exc)
            raise HTTPException(400, str(exc)) from exc
        try:
            transitions = await run_in_threadpool(feed, loop, message)
        except StoreError as exc:
            log.error("Alertmanager webhook from %s: not stored: %s", message.source, exc)
            raise HTTPException(503, "the database is unavailable; send the message "
                                "again") from exc
        log.info("Alertmanager webhook from %s: %d alerts, %d transitions", message.source,
                 len(message.alerts), len(transitions))
        if message.truncated_alerts:
            log.warning("Alertmanager webhook from %s: %d alerts of group %s were left out "
                        "by max_alerts; raise max_alerts in its webhook_config",
                        message.source, message.truncated_alerts, message.group_key)
        return {"status": "success", "alerts": len(message.alerts)}
