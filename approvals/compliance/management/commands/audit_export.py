"""`manage.py audit_export --workspace SLUG --format csv|json [--since DATE] [--output FILE]`.

Streams the workspace's audit events to stdout (or a file) in chain order, so a million-event log
exports in constant memory. The CSV and JSON layouts are the ones the compliance pages download.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from approvals.compliance.exports import EXPORT_FORMATS, AuditFilter, iter_export
from studio.core.models import Workspace


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD.", returncode=2) from exc


class Command(BaseCommand):
    help = "Export a workspace's audit log as CSV or JSON (to stdout unless --output is given)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG", required=True)
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv", dest="fmt")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="First day to include.")
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="Last day to include.")
        parser.add_argument("--action", default="", help="Only actions starting with this, e.g. approvals.review.")
        parser.add_argument("--actor", default="", help="Only events by this person (name or username).")
        parser.add_argument("--output", metavar="FILE", help="Write here instead of stdout.")

    def handle(
        self,
        *args,
        workspace: str,
        fmt: str,
        since: str | None,
        until: str | None,
        action: str,
        actor: str,
        output: str | None,
        **options,
    ) -> None:
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"No workspace with slug {workspace!r}.", returncode=2)
        filters = AuditFilter(
            workspace_ids=(target.pk,),
            since=_date(since) if since else None,
            until=_date(until) if until else None,
            action=action,
            actor=actor,
        )
        chunks = iter_export(filters, fmt)
        if output:
            with Path(output).open("w", encoding="utf-8", newline="") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            return
        for chunk in chunks:
            self.stdout.write(chunk, ending="")
        self.stdout.flush()
