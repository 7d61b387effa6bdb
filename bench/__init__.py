"""Benchmarks (not part of the test suite): see bench/run.py and bench/RESULTS.md."""
