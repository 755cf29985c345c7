"""SLO engine benchmarks: evaluation ticks from the store against Prometheus' rule evaluation."""
