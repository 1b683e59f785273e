"""Benchmarks: each ``bench_*`` module measures the library beside a raw baseline in one process."""
