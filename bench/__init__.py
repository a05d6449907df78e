"""Benchmarks of clipdex against a real server process; each prints a table and writes JSON.

Run them all with ``python -m bench.run_all`` (``make bench``); see bench/README.md.
"""
