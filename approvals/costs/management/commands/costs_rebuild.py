"""``python manage.py costs_rebuild``: rebuild the cost rollups from the cost rows.

The first ``costs_catch_up`` after a deploy that adds a rollup does this by itself; run it by hand to
repair rollups after editing cost rows directly. Concurrent recording waits until it commits.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from approvals.costs.services.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild the cost rollups (breakdowns and histograms) from the recorded cost rows."

    def handle(self, *args, **options):
        written = rollups_rebuild()
        self.stdout.write(
            f"Rebuilt {written['breakdown']:,} breakdown rows and {written['histogram']:,} histogram rows."
        )
