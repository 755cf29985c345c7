"""Demo model training, serving and traffic generation for Watchkeeper."""

from __future__ import annotations

__all__: list[str] = []
