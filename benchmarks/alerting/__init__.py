"""Alerting benchmarks: breach-to-receiver latency and routing throughput against Alertmanager."""
