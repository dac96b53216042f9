"""``python manage.py cost_report --workspace SLUG [--campaign SLUG] [--since DATE] [--until DATE] --json``

Prints the cost report as one JSON object (money as decimal strings), read from the same rollups as the
cost pages. ``--verify`` also recomputes the totals from the source tables and fails if they differ.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from approvals.costs.forms import DateRangeForm
from approvals.costs.money import CurrencyMix
from approvals.costs.selectors import cost_report, operations_report, scope_for
from approvals.costs.selectors.recompute import recompute
from studio.core.models import Workspace
from studio.generation.models import Campaign


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(Decimal(value).quantize(Decimal("0.000001")), "f")


def _lines(report, dimension: str) -> list[dict]:
    return [
        {
            "key": line.key,
            "label": line.label,
            "spend": _money(line.spend),
            "generated": line.generated,
            "approved": line.approved,
            "waste": _money(line.waste),
            "cost_per_approved": _money(line.cost_per_approved),
        }
        for line in report.breakdowns.get(dimension, [])
    ]


def report_object(scope) -> dict:
    report, ops = cost_report(scope), operations_report(scope)
    return {
        "workspace": scope.workspace.slug,
        "campaign": scope.campaign.slug if scope.campaign else None,
        "since": scope.since.isoformat(),
        "until": scope.until.isoformat(),
        "currency": report.currency,
        "spend": _money(report.spend),
        "jobs": report.total.jobs,
        "generated": report.generated,
        "approved": report.approved,
        "published": report.published,
        "cost_per_generated": _money(report.cost_per_generated),
        "cost_per_approved": _money(report.cost_per_approved),
        "cost_per_published": _money(report.cost_per_published),
        "lineage_cost_per_approved": _money(report.lineage_cost_per_approved),
        "waste": _money(report.waste),
        "rework_ratio": report.rework_ratio,
        "approval_rate_pct": report.approval_rate,
        "hours_to_approval_median": report.hours_to_approval[0],
        "hours_to_approval_p90": report.hours_to_approval[1],
        "estimate_median_abs_error_pct": ops.estimate_median_abs_error_pct,
        "estimate_observations": ops.accuracy_observations,
        "cached_savings": _money(report.total.cached_savings) if report.cached_reported else None,
        "cached_not_reported_by": report.unreported_deployments,
        "price_tables": [
            {"id": p.pk or None, "label": p.label, "spend": _money(p.spend), "edited_since": p.edited_since}
            for p in report.prices
        ],
        "by_model": _lines(report, "model"),
        "by_deployment": _lines(report, "deployment_id"),
        "by_quality": _lines(report, "quality"),
        "by_size_class": _lines(report, "size_class"),
        "by_locale": _lines(report, "locale"),
        "by_route": _lines(report, "route"),
        "by_operation": _lines(report, "operation"),
    }


class Command(BaseCommand):
    help = "Print what a workspace's (or campaign's) images cost over a date range."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--campaign")
        parser.add_argument("--since", type=dt.date.fromisoformat)
        parser.add_argument("--until", type=dt.date.fromisoformat)
        parser.add_argument("--json", action="store_true", help="One JSON object (the default output too)")
        parser.add_argument("--verify", action="store_true", help="Recompute from the source tables and compare")

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}.")
        campaign = None
        if options["campaign"]:
            campaign = Campaign.objects.filter(workspace=workspace, slug=options["campaign"]).first()
            if campaign is None:
                raise CommandError(f"No campaign {options['campaign']!r} in {workspace.slug}.")
        form = DateRangeForm({"since": options["since"] or "", "until": options["until"] or ""})
        if not form.is_valid():
            raise CommandError(" ".join(e for errors in form.errors.values() for e in errors))
        since, until = form.range()
        scope = scope_for(workspace, since=since, until=until, campaign=campaign)
        try:
            data = report_object(scope)
        except CurrencyMix as exc:
            raise CommandError(exc.message) from exc
        if options["verify"]:
            direct = recompute(scope)
            checks = {"spend": "spend", "waste": "waste"}
            wrong = [k for k, v in checks.items() if Decimal(data[k]) != direct[v]]
            wrong += [k for k in ("generated", "approved", "published") if data[k] != direct[k]]
            hours = (data["hours_to_approval_median"], data["hours_to_approval_p90"])
            wrong += ["hours_to_approval"] if hours != direct["hours_to_approval"] else []
            if data["estimate_median_abs_error_pct"] != direct["estimate_error"]["median_pct"]:
                wrong.append("estimate_median_abs_error_pct")
            data["verified"] = not wrong
            if wrong:
                self.stdout.write(json.dumps(data, indent=2))
                raise CommandError(f"Rollups differ from a recomputation in: {', '.join(wrong)}")
        self.stdout.write(json.dumps(data, indent=2))
