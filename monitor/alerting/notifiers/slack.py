"""Slack through the Web API (slack-sdk): post on firing, update in place, reply on resolve."""

from __future__ import annotations

import http.client
import logging
import math
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlparse

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse

from monitor.alerting.notifiers.base import RecentDeliveries
from monitor.alerting.notifiers.blocks import SlackMessage, build_message, resolved_reply
from monitor.config.secrets import Secret
from monitor.core.errors import DeliveryError
from monitor.core.model import Delivery, Notification, NotificationStatus

__all__ = ["DEFAULT_BASE_URL", "SlackDeliveryError", "SlackNotifier"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://slack.com/api/"
# Slack's transient error codes: https://api.slack.com/methods/chat.postMessage#errors
_RETRYABLE_CODES = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error",
                              "service_unavailable", "request_timeout"})
# chat.update cannot touch the old message any more: announce the resolution afresh.
_UPDATE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
_HINTS = {
    "invalid_auth": "check the receiver's token (a bot token, xoxb-…)",
    "not_authed": "set the receiver's token",
    "account_inactive": "the token's app or user was deactivated; issue a new token",
    "token_revoked": "the token was revoked; issue a new one",
    "channel_not_found": "fix the channel, or invite the app to it",
    "not_in_channel": "invite the app to the channel",
    "is_archived": "the channel is archived; route to another one",
    "missing_scope": "give the app the chat:write scope",
    "msg_too_long": "shorten the alert's annotations",
}
_CODE = re.compile(r"\A[a-z_]+\Z")


class SlackDeliveryError(DeliveryError):
    """Slack refused a call: ``code`` is Slack's ``error`` field, ``status`` the HTTP status."""

    def __init__(self, message: str, *, code: str, status: int, retryable: bool,
                 retry_after: float | None = None) -> None:
        super().__init__(message, retryable=retryable, retry_after=retry_after)
        self.code, self.status = code, status


def _header(headers: Mapping[str, object], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list | tuple) and value else value)
    return ""


def _retry_after(headers: Mapping[str, object]) -> float | None:
    try:
        seconds = float(_header(headers, "Retry-After"))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _api_error(exc: SlackApiError, where: str) -> SlackDeliveryError:
    response: SlackResponse = exc.response
    status = int(response.status_code)
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error", ""))
    code = error if _CODE.match(error) else f"http_{status}"
    retryable = status == 429 or status >= 500 or code in _RETRYABLE_CODES
    hint = _HINTS.get(code, "")
    message = f"{where}: Slack answered {code} (HTTP {status})" + (f"; {hint}" if hint else "")
    headers = response.headers if isinstance(response.headers, Mapping) else {}
    return SlackDeliveryError(message, code=code, status=status, retryable=retryable,
                              retry_after=_retry_after(headers) if retryable else None)


class SlackNotifier:
    """Send notifications to one Slack channel with a bot token through the Web API.

    A firing alert is posted with ``chat.postMessage``; its reference is
    ``CHANNEL_ID:TS``. A resolution that knows that reference (``previous_ref``) turns the
    original message into a resolved one with ``chat.update`` and says so in its thread;
    without one it is posted as a new message. A group's later messages while it still
    fires (alerts joined, some resolved, a repeat: ``thread_key`` set) update the group's
    first message in place, so a channel holds one message per group episode; when that
    message cannot be updated any more they are posted anew. slack-sdk's own retries are
    off: the outbox retries, with backoff, and honours ``Retry-After``.
    """

    def __init__(self, *, name: str, channel: str, token: Secret, base_url: str = "",
                 timeout: float = 10.0) -> None:
        if not name:
            raise ValueError("name must not be empty")
        if not channel:
            raise ValueError(f"slack receiver {name!r}: channel must not be empty; "
                             "use a channel ID (C…) or #name")
        if not isinstance(token, Secret) or not token.reveal():
            raise ValueError(f"slack receiver {name!r}: token must be a non-empty Secret; "
                             "set token: ${SLACK_BOT_TOKEN} in the receiver")
        if timeout <= 0:
            raise ValueError(f"slack receiver {name!r}: timeout must be > 0, got {timeout}")
        self.name, self.channel = name, channel
        self.base_url = base_url or DEFAULT_BASE_URL
        if urlparse(self.base_url).scheme not in {"http", "https"}:
            raise ValueError(f"slack receiver {name!r}: base_url {self.base_url!r} must be an "
                             "http(s) URL, e.g. https://slack.com/api/")
        self._client = WebClient(token=token.reveal(), base_url=self.base_url,
                                 timeout=max(1, math.ceil(timeout)), retry_handlers=[])
        self._recent = RecentDeliveries()

    def __repr__(self) -> str:
        return f"SlackNotifier(name={self.name!r}, channel={self.channel!r})"

    def send(self, notification: Notification) -> Delivery:
        """Post, or update (and on resolution reply to), the channel message for *notification*."""
        done = self._recent.get(notification.dedup_key)
        if done is not None:
            return done
        ref = self._parse_ref(notification)
        if notification.status is NotificationStatus.RESOLVED and ref is not None:
            delivery = self._resolve(notification, *ref)
        elif notification.thread_key and ref is not None:
            delivery = self._follow_up(notification, *ref)
        else:
            delivery = self._post(notification)
        self._recent.put(notification.dedup_key, delivery)
        log.debug("slack %s: delivered %s as %s", self.name, notification.dedup_key,
                  delivery.external_ref)
        return delivery

    def verify(self) -> str:
        """Check the token with ``auth.test``; return ``team/user`` it authenticates as."""
        response = self._call("auth.test", self._client.auth_test)
        return f"{response.get('team', '')}/{response.get('user', '')}"

    def _parse_ref(self, notification: Notification) -> tuple[str, str] | None:
        if not notification.previous_ref:
            return None
        channel, sep, ts = notification.previous_ref.partition(":")
        if not sep or not channel or not ts:
            log.warning("slack %s: ignoring malformed previous_ref %r of %s; expected "
                        "CHANNEL:TS", self.name, notification.previous_ref,
                        notification.dedup_key)
            return None
        return channel, ts

    def _post(self, notification: Notification) -> Delivery:
        message = build_message(notification)
        response = self._call("chat.postMessage", lambda: self._client.chat_postMessage(
            channel=self.channel, text=message.text, blocks=list(message.blocks),
            unfurl_links=False, unfurl_media=False))
        channel_id, ts = str(response.get("channel", "")), str(response.get("ts", ""))
        if not channel_id or not ts:
            raise DeliveryError(f"{self._where('chat.postMessage')}: Slack accepted the message "
                                "but sent no channel or ts", retryable=False)
        return Delivery(accepted=True, external_ref=f"{channel_id}:{ts}",
                        detail=f"posted to {channel_id} at {ts}")

    def _update(self, notification: Notification, channel_id: str, ts: str) -> bool:
        """Rewrite message *ts* for *notification*; False when Slack can no longer edit it."""
        message = build_message(notification)
        try:
            self._call("chat.update", lambda: self._client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=list(message.blocks)))
        except SlackDeliveryError as exc:
            if exc.code not in _UPDATE_GONE:
                raise
            log.info("slack %s: message %s:%s cannot be updated (%s); posting %s as a new "
                     "message", self.name, channel_id, ts, exc.code, notification.dedup_key)
            return False
        return True

    def _follow_up(self, notification: Notification, channel_id: str, ts: str) -> Delivery:
        """Bring a group's first message up to date: alerts joined or resolved, or a repeat."""
        if not self._update(notification, channel_id, ts):
            return self._post(notification)
        return Delivery(accepted=True, external_ref=f"{channel_id}:{ts}",
                        detail=f"updated {channel_id} message {ts}")

    def _resolve(self, notification: Notification, channel_id: str, ts: str) -> Delivery:
        if not self._update(notification, channel_id, ts):
            return self._post(notification)
        reply: SlackMessage = resolved_reply(notification)
        self._call("chat.postMessage", lambda: self._client.chat_postMessage(
            channel=channel_id, thread_ts=ts, text=reply.text, blocks=list(reply.blocks)))
        return Delivery(accepted=True, external_ref=f"{channel_id}:{ts}",
                        detail=f"updated {channel_id} message {ts} and replied in its thread")

    def _where(self, method: str) -> str:
        return f"slack receiver {self.name!r}: {method} to {self.channel}"

    def _call(self, method: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        where = self._where(method)
        try:
            return call()
        except SlackApiError as exc:
            raise _api_error(exc, where) from exc
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            reason = getattr(exc, "reason", None) or exc
            raise DeliveryError(f"{where}: cannot reach {self.base_url}: {reason}; "
                                "will retry", retryable=True) from exc
        except SlackClientError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}",
                                retryable=False) from exc
