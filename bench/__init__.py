"""Benchmarks, fault-injection and bad-input suites (issue 7); `python bench/run.py` runs them.

Not part of the unit tests: these measure speed and safety and print figures. The unit suite
keeps the harness from rotting with a tiny smoke run (tests/test_bench_smoke.py) and runs the
bounded bad-input fuzzers (tests/test_fuzz_*.py), which share `bench.badinput` with the bench.
"""
