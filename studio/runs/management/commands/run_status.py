"""`manage.py run_status RUN [--json]`: the same report ``run_launch`` prints, at any time.

Exits non-zero when the run has ended and any cell did not succeed (while it runs, 0)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from studio.runs import selectors
from studio.runs.management.commands.run_launch import _summary
from studio.runs.models import CellStatus, ProductionRun


class Command(BaseCommand):
    help = "Print a production run's status and cells."

    def add_arguments(self, parser):
        parser.add_argument("run", type=int)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        run = ProductionRun.objects.select_related("campaign", "deployment").filter(pk=opts["run"]).first()
        if run is None:
            raise CommandError(f"No production run {opts['run']}.")
        report = selectors.run_report(run=run)
        self.stdout.write(json.dumps(report, ensure_ascii=False) if opts["json"] else _summary(report))
        if run.is_terminal and any(cell["status"] != CellStatus.SUCCEEDED for cell in report["cells"]):
            raise SystemExit(1)
