"""Benchmarks run by `make bench`: every module named bench_*.py with a main() -> None."""
