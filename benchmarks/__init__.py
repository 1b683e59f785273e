"""Benchmarks: each ``bench_*`` module measures the library beside a baseline doing the same work in
the same process, and prints ratios. ``bench_handle`` measures the public county handle
(``leftbehind.open``), which is what users call; the others measure layers beneath it."""
