"""Loopback fakes of the third-party APIs Watchkeeper talks to, for tests."""

from __future__ import annotations

from tests.fakes.slack_api import FakeSlackAPI, SlackCall

__all__ = ["FakeSlackAPI", "SlackCall"]
