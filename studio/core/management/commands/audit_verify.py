"""`manage.py audit_verify [--workspace SLUG]`: re-check the audit hash chain(s).

Exit codes are for schedulers and CI: 0 the chain is intact, 1 it was tampered with (the first broken
event is named), 2 the command could not run (for example, an unknown workspace).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from studio.core.audit import audit_verify
from studio.core.models import Workspace


class Command(BaseCommand):
    help = "Verify the tamper-evident audit log. Exit 0 if intact, 1 if an event was changed, 2 on bad input."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG", help="Verify one workspace (default: all of them).")

    def handle(self, *args, workspace: str | None = None, **options) -> None:
        target = None
        if workspace:
            target = Workspace.objects.filter(slug=workspace).first()
            if target is None:
                raise CommandError(f"No workspace with slug {workspace!r}.", returncode=2)
        result = audit_verify(workspace=target)
        if result.ok:
            self.stdout.write(f"verified {result.verified} events")
            return
        self.stderr.write(f"audit log broken: {result.message}")
        sys.exit(1)
