"""Drift benchmark: Watchkeeper's check against SciPy, Evidently, NannyML and alibi-detect."""
