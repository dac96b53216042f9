"""`make bench`: every benchmark in tests/bench/, each printing ratios against a baseline from the same run.

Not part of `make test`. Needs PostgreSQL and Redis on 127.0.0.1 (started if down, as in the test suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.suite import ensure_postgres, ensure_redis  # noqa: E402

BENCHES = [
    "bench_pipeline.py",
    "bench_queue.py",
    "bench_audit.py",
    "bench_runs.py",
    "bench_run_review.py",
    "bench_api.py",
    "bench_provenance.py",
    "bench_publish.py",  # starts Azurite itself (tests.suite.ensure_azurite), as make test does
    "bench_costs.py",
    "bench_faults.py",
]


def main() -> int:
    problems = [p for p in (ensure_postgres(), ensure_redis()) if p]
    if problems:
        print("cannot benchmark: " + "; ".join(problems))
        return 1
    # The benchmarks measure the production backends: PostgreSQL and Redis, unless told otherwise.
    env = {**os.environ}
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    status = 0
    for name in BENCHES:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        status |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent.parent, env=env)
    return status


if __name__ == "__main__":
    sys.exit(main())
