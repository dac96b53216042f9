"""A worker-like process for the limiter test: threads that each call a mock HTTP server inside
``deployment_slot``. Run as ``python -m tests.runs.limiter_child URL THREADS CALLS DEPLOYMENT_ID LIMIT``
(``DEPLOYMENT_ID`` of a real row when the database backend is under test); prints "done"."""

from __future__ import annotations

import os
import sys
import threading
import urllib.error
import urllib.request
from types import SimpleNamespace


def main() -> int:
    url, threads, calls, deployment_id, limit = sys.argv[1:6]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    import django

    django.setup()
    from studio.generation import limiter

    if os.environ.get("LIMITER_REAL_DEPLOYMENT") == "1":
        from studio.generation.models import Deployment

        deployment = Deployment.objects.get(pk=int(deployment_id))
    else:
        deployment = SimpleNamespace(
            pk=int(deployment_id), name="mock", max_concurrency=int(limit), requests_per_minute=0,
            request_timeout_seconds=30,
        )  # fmt: skip
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(int(calls)):
                with limiter.deployment_slot(deployment):
                    try:
                        urllib.request.urlopen(url, data=b"{}", timeout=30).read()
                    except urllib.error.HTTPError as exc:
                        if exc.code == 429:
                            limiter.deployment_slow_down(deployment, float(exc.headers.get("retry-after", 1)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    pool = [threading.Thread(target=work) for _ in range(int(threads))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    print("errors: " + "; ".join(repr(e) for e in errors) if errors else "done", flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
