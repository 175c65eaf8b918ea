"""Benchmarks for the Yiwang kernel: ``python -m bench --list``.

Each benchmark runs in its own process against a fresh database (a temporary SQLite data
directory, or a scratch PostgreSQL database that is dropped and recreated), and prints one
JSON object to stdout with ``--json``; progress goes to stderr. See docs/benchmarks.md.
"""
