"""Educa's benchmark: the load scripts, `python -m bench.run`, and a Django app holding the
benchmark's management commands (bench_setup, bench_queries). Installed only by the test and
benchmark settings (educa.settings.test, educa.settings.bench), never in production."""
