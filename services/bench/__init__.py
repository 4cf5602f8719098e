"""`consent-ledger bench`: each line of the performance budget measured beside a ceiling from the same run.

A path is one module (or one group of them): it builds what it needs in a `Bench` (environment.py),
measures its figure and its ceiling on the same broker and database, and returns a `Line`
(harness.py). Everything is synthetic: random subject ids, made-up names; nothing personal is printed.
See docs/decisions/0013-benchmarks.md.
"""
