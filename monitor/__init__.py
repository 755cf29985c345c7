"""Watchkeeper: a self-hosted SRE control loop for machine-learning models."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
