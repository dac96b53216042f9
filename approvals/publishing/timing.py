"""Where a publication's time goes: the publish path marks its phases (check, read the source, render,
sign, upload, record) and whoever is listening adds them up. Nobody listens in production (a phase then costs
one context-variable lookup); the publish benchmark does (``tests/bench/bench_publish.py``), to split the
time per publication into render, sign and upload and to see what an optimisation changed."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

PHASES = ("check", "read", "render", "sign", "upload", "record")


@dataclass
class PhaseTimes:
    """Seconds per phase, summed over everything published while recording: wall clock and this
    process's CPU (the CPU figure is the one to trust on a machine other work is using)."""

    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))


_recording: ContextVar[PhaseTimes | None] = ContextVar("publishing_phase_times", default=None)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as ``name`` when someone is recording; otherwise do nothing."""
    times = _recording.get()
    if times is None:
        yield
        return
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        times.wall[name] += time.perf_counter() - wall
        times.cpu[name] += time.process_time() - cpu


@contextmanager
def phases_recorded() -> Iterator[PhaseTimes]:
    """Record the phases of everything published inside the block (in this thread or task)."""
    times = PhaseTimes()
    token = _recording.set(times)
    try:
        yield times
    finally:
        _recording.reset(token)
