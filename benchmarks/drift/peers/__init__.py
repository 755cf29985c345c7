"""One module per peer tool; each runs as ``python -m benchmarks.drift.peers.<name> JOB OUT``.

Apart from the SciPy loop they run in the peers' own virtualenv (``peers.sh``) and import
nothing from Watchkeeper.
"""
