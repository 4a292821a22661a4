"""Benchmarks of the production server on PostgreSQL; run them as `python -m bench.NAME` (bench/README.md)."""
