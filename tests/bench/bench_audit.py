"""Audit chain at scale: append latency and full verification on a long chain.

    .venv/bin/python tests/bench/bench_audit.py [--events 1000000] [--appends 1000]

1. Creates its own database (PostgreSQL if DATABASE_URL is set, else a temp SQLite file), migrated, so
   the append-only trigger is in place exactly as in production.
2. Loads N correctly chained events with bulk_create (hashes computed in Python) and moves the chain head.
3. Times real ``audit_append`` calls on top: inside a caller's transaction as services run them (goal
   p95 <= 2 ms), and each with its own commit; baseline: a raw INSERT of an equivalent row, timed the same
   way in the same run.
4. Times a full ``audit_verify`` (goal <= 20 s at 1M); baselines: a raw scan of the same rows and a raw
   sha256 loop over them. Peak RSS before and after shows whether verification holds the chain in memory.
Drops the database at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup(tmp: Path):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("IMPRIMATUR_VAR_DIR", str(tmp / "var"))
    sqlite = not os.environ.get("DATABASE_URL")
    if sqlite:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    test_name = str(tmp / "bench-test.sqlite3") if sqlite else "test_imprimatur_bench_audit"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection, old_name


def _load(workspace, n: int, batch: int = 5000) -> float:
    from django.db import transaction
    from django.utils import timezone

    from studio.core.audit import GENESIS_HASH, event_hash
    from studio.core.models import AuditChain, AuditEvent

    start = time.perf_counter()
    base = timezone.now() - timedelta(days=365)
    prev = GENESIS_HASH
    seq = 0
    while seq < n:
        rows = []
        for _ in range(min(batch, n - seq)):
            seq += 1
            event = AuditEvent(
                workspace_id=workspace.pk,
                seq=seq,
                action="studio.variant.created",
                actor=None,
                actor_label="system",
                subject_type="studio.variant",
                subject_id=str(seq),
                data={"job": seq // 4, "sha256": "ab" * 32, "size": "1024x1024", "cost": "0.042"},
                ip=None,
                user_agent="",
                created_at=base + timedelta(microseconds=seq * 1000),
                prev_hash=prev,
            )
            event.hash = prev = event_hash(event)
            rows.append(event)
        with transaction.atomic():
            AuditEvent.objects.bulk_create(rows)
        if seq % 100_000 == 0:
            print(f"  loaded {seq:,} events ({time.perf_counter() - start:.0f} s)", flush=True)
    AuditChain.objects.update_or_create(workspace=workspace, defaults={"last_seq": seq, "last_hash": prev})
    return time.perf_counter() - start


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=1000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="imprimatur-bench-audit-"))
    try:
        connection, old_name = _setup(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        from django.db import connection as conn
        from django.db import transaction
        from django.utils import timezone

        from studio.core.audit import audit_append, audit_verify
        from studio.core.models import AuditEvent, Workspace

        vendor = conn.vendor
        print(f"database: {vendor} ({conn.settings_dict['NAME']}), events: {args.events:,}", flush=True)
        workspace = Workspace.objects.create(name="Bench", slug="bench")
        load_s = _load(workspace, args.events)
        if vendor == "postgresql":
            with conn.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE approvals_auditevent")
        print(f"bulk load: {load_s:.1f} s ({args.events / load_s:,.0f} events/s)", flush=True)

        # --- appends on top of the long chain. In the product an append runs inside the service's
        # transaction, so it is timed there (commit excluded); the same with its own commit is shown too.
        table = AuditEvent._meta.db_table
        placeholders = ", ".join(["%s"] * 13)
        insert_sql = (
            f"INSERT INTO {table} (workspace_id, seq, action, actor_id, actor_label, subject_type, "  # noqa: S608
            f"subject_id, data, ip, user_agent, created_at, prev_hash, hash) VALUES ({placeholders})"
        )
        baseline_ws = Workspace.objects.create(name="Baseline", slug="baseline")
        baseline_seq = 0

        def append(i: int) -> None:
            audit_append(
                workspace=workspace,
                actor=None,
                action="studio.bench.append",
                subject_type="studio.variant",
                subject_id=i,
                data={"i": i, "sha256": "cd" * 32, "size": "1024x1024"},
            )

        def raw_insert(i: int) -> None:
            nonlocal baseline_seq
            baseline_seq += 1
            params = [
                baseline_ws.pk,
                baseline_seq,
                "studio.bench.append",
                None,
                "system",
                "studio.variant",
                str(i),
                json.dumps({"i": i, "sha256": "cd" * 32, "size": "1024x1024"}),
                None,
                "",
                timezone.now(),
                "0" * 64,
                "1" * 64,
            ]
            with conn.cursor() as cursor:
                cursor.execute(insert_sql, params)

        def timed(fn, *, with_commit: bool) -> list[float]:
            out = []
            for i in range(args.appends):
                if with_commit:
                    t0 = time.perf_counter()
                    with transaction.atomic():
                        fn(i)
                    out.append((time.perf_counter() - t0) * 1000)
                else:
                    with transaction.atomic():
                        t0 = time.perf_counter()
                        fn(i)
                        out.append((time.perf_counter() - t0) * 1000)
            return out

        for label, with_commit in (("in the caller's transaction", False), ("with its own commit", True)):
            ours, base = timed(append, with_commit=with_commit), timed(raw_insert, with_commit=with_commit)
            p50, p95, r50, r95 = _pct(ours, 50), _pct(ours, 95), _pct(base, 50), _pct(base, 95)
            goal = f" (goal <= 2 ms) {'OK' if p95 <= 2 else 'OVER GOAL'}" if not with_commit else ""
            print(f"audit_append at {args.events:,} events, {label}: p50 {p50:.3f} ms, p95 {p95:.3f} ms{goal}")
            print(
                f"  baseline raw INSERT of the same row:  p50 {r50:.3f} ms, p95 {r95:.3f} ms; "
                f"ratio p50 {p50 / r50:.2f}x, p95 {p95 / r95:.2f}x",
                flush=True,
            )

        # --- full verification
        rss_before = _rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        result = audit_verify(workspace=workspace)
        verify_s, verify_cpu = time.perf_counter() - t0, time.process_time() - c0
        rss_after = _rss_mb()
        assert result.ok, result.message

        t0 = time.perf_counter()
        qs = (
            AuditEvent.objects.filter(workspace=workspace)
            .order_by("seq")
            .values_list(
                "seq", "action", "actor_label", "subject_type", "subject_id", "data", "created_at", "prev_hash"
            )
        )
        for _row in qs.iterator(chunk_size=5000):
            pass
        scan_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sha = hashlib.sha256
        for row in qs.iterator(chunk_size=5000):
            sha(repr(row).encode()).hexdigest()
        sha_s = time.perf_counter() - t0
        print(
            f"audit_verify of {result.verified:,} events: {verify_s:.2f} s "
            f"({result.verified / verify_s:,.0f} events/s); scaled to 1M: {verify_s * 1e6 / result.verified:.1f} s "
            f"(goal <= 20 s) {'OK' if verify_s * 1e6 / result.verified <= 20 else 'OVER GOAL'}"
        )
        print(f"  of which CPU time in this process: {verify_cpu:.2f} s (the rest is the database and other load)")
        print(f"  baseline ORM scan of the same rows:    {scan_s:.2f} s; ratio {verify_s / scan_s:.2f}x")
        print(f"  baseline scan + raw sha256 loop:   {sha_s:.2f} s; ratio {verify_s / sha_s:.2f}x")
        print(
            f"  peak RSS {rss_before:.0f} MB before verify, {rss_after:.0f} MB after "
            f"(+{rss_after - rss_before:.0f} MB for {result.verified:,} events)"
        )
        return 0
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
