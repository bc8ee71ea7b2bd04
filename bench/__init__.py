"""Side-by-side benchmark of stackctl, `docker stack deploy` and the API floor.

Run ``bench/run.py`` (or ``./dev bench`` / ``./dev bench-quick``); results land in
``bench/results/`` and ``bench/report.py`` renders ``docs/benchmarks.md`` from them.
"""
