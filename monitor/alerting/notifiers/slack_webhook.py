"""Slack through an incoming webhook (slack-sdk ``WebhookClient``): one message per notification."""

from __future__ import annotations

import http.client
import logging
import math
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from slack_sdk.errors import SlackRequestError
from slack_sdk.webhook import WebhookClient, WebhookResponse

from monitor.alerting.notifiers.base import RecentDeliveries
from monitor.alerting.notifiers.blocks import build_message
from monitor.alerting.notifiers.slack import SlackDeliveryError
from monitor.alerting.notifiers.webhook import parse_retry_after, retryable_status
from monitor.config.secrets import Secret
from monitor.core.errors import DeliveryError
from monitor.core.model import Delivery, Notification

__all__ = ["SlackWebhookNotifier"]

log = logging.getLogger(__name__)

# Incoming webhook errors: https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks
_MALFORMED = "the message was malformed; report this with the alert that caused it"
_HINTS = {
    "invalid_payload": _MALFORMED,
    "invalid_blocks": _MALFORMED,
    "invalid_blocks_format": _MALFORMED,
    "no_text": _MALFORMED,
    "too_many_attachments": _MALFORMED,
    "no_service": "the webhook was disabled or removed; create a new incoming webhook and "
                  "update the receiver's url",
    "invalid_token": "the webhook URL is wrong; copy it again from the Slack app",
    "no_team": "the webhook's workspace is gone; create a new incoming webhook",
    "team_disabled": "the webhook's workspace is disabled",
    "channel_not_found": "the webhook's channel is gone; create a webhook for another channel",
    "channel_is_archived": "the webhook's channel is archived; unarchive it or create a "
                           "webhook for another channel",
    "action_prohibited": "the workspace restricts this webhook; ask a Slack admin",
    "posting_to_general_channel_denied": "only admins may post to that channel; pick another",
    "user_not_found": "the webhook's user is gone; create a new incoming webhook",
}
_CODE = re.compile(r"\A[a-z_]+\Z")
# slack-sdk logs the request URL, the webhook's secret, at DEBUG: keep that out of the logs
_URL = re.compile(r"(https?://[^/\s'\",]+)/[^\s'\",]*")


class _RedactUrls(logging.Filter):
    """Replace the path of every URL in a record by ``/…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _URL.sub(r"\1/…", record.getMessage())
        record.args = ()
        return True


_SDK_LOG = logging.getLogger(f"{__name__}.sdk")
_SDK_LOG.setLevel(logging.INFO)  # the SDK only checks its logger's own level before DEBUG
_SDK_LOG.addFilter(_RedactUrls())


def _header(headers: Mapping[str, object] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list | tuple) and value else value)
    return None


class SlackWebhookNotifier:
    """Post notifications to the channel of one Slack incoming webhook.

    Messages carry the same Block Kit as :class:`SlackNotifier`. An incoming webhook
    cannot update a message, so a resolution is posted as a new, resolved message, and
    each message of a group (alerts joined, some resolved, a repeat) is posted whole.
    The webhook URL is a secret: messages and logs name only its host. 429 (with
    ``Retry-After``), 5xx and network errors are retried by the outbox; Slack's other
    answers (``invalid_payload``, ``no_service``, ``channel_is_archived``…) are not.
    """

    def __init__(self, *, name: str, url: Secret, timeout: float = 10.0) -> None:
        if not name:
            raise ValueError("name must not be empty")
        if not isinstance(url, Secret) or not url.reveal():
            raise ValueError(f"slack-webhook receiver {name!r}: url must be a non-empty "
                             "Secret; set url: ${SLACK_WEBHOOK_URL} in the receiver")
        parts = urlsplit(url.reveal())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"slack-webhook receiver {name!r}: url must be an http(s) URL "
                             "such as https://hooks.slack.com/services/T…/B…/…; got one "
                             f"with scheme {parts.scheme!r}")
        if not timeout > 0:
            raise ValueError(f"slack-webhook receiver {name!r}: timeout must be > 0 seconds, "
                             f"got {timeout}")
        self.name, self.host = name, parts.hostname
        self._client = WebhookClient(url.reveal(), timeout=max(1, math.ceil(timeout)),
                                     logger=_SDK_LOG, retry_handlers=[])
        self._recent = RecentDeliveries()

    def __repr__(self) -> str:
        return f"SlackWebhookNotifier(name={self.name!r}, host={self.host!r})"

    def send(self, notification: Notification) -> Delivery:
        """Post *notification* (firing, resolved, or a group's latest state) anew."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        where = f"slack-webhook receiver {self.name!r}: POST to {self.host}"
        message = build_message(notification)
        try:
            response = self._client.send(text=message.text, blocks=list(message.blocks),
                                         unfurl_links=False, unfurl_media=False)
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            reason = getattr(exc, "reason", None) or exc
            raise DeliveryError(f"{where}: cannot reach Slack ({type(exc).__name__}: "
                                f"{reason}); will retry", retryable=True) from exc
        except SlackRequestError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}", retryable=False) from exc
        if response.status_code != 200:
            raise _answer_error(where, response)
        delivery = Delivery(accepted=True, detail=f"posted through the webhook on {self.host}")
        self._recent.put(notification.dedup_key, delivery)
        log.debug("slack-webhook %s: delivered %s", self.name, notification.dedup_key)
        return delivery


def _answer_error(where: str, response: WebhookResponse) -> SlackDeliveryError:
    status = int(response.status_code)
    body = (response.body or "").strip()
    code = body if _CODE.match(body) else f"http_{status}"
    retryable = retryable_status(status)
    hint = "will retry" if retryable else _HINTS.get(code, "")
    message = f"{where}: Slack answered {code} (HTTP {status})" + (f"; {hint}" if hint else "")
    retry_after = parse_retry_after(_header(response.headers, "Retry-After"))
    return SlackDeliveryError(message, code=code, status=status, retryable=retryable,
                              retry_after=retry_after if retryable else None)
