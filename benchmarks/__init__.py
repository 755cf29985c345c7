"""Benchmarks of Watchkeeper's engines: ``python -m benchmarks.<engine>.<name>``."""
