"""Fixtures for remediation tests."""

from __future__ import annotations

from remediation_fakes import deploy_server

__all__ = ["deploy_server"]
