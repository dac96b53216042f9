"""What a cost page shows, assembled from the selectors: the report, operations, budgets, their charts
and their tables (each table is also its CSV export). Views call :func:`dashboard` and render."""

from __future__ import annotations

from dataclasses import dataclass, field

from approvals.costs.charts import Chart, bar_chart, line_chart
from approvals.costs.rollups import APPROVAL
from approvals.costs.selectors import CostScope, cost_report, operations_report
from approvals.costs.selectors.budgets import campaign_budgets, campaign_burn_down
from approvals.costs.selectors.operations import METRICS
from approvals.costs.selectors.report import DIMENSION_LABELS, DIMENSIONS, CostReport
from approvals.costs.selectors.scope import histogram_counts
from approvals.costs.tables import Table

TOP_ASSETS = 25
BREAKDOWN_COLUMNS = [
    ("Jobs", "int"),
    ("Images", "int"),
    ("Spend", "money"),
    ("Waste", "money"),
    ("Approved", "int"),
    ("Cost per approved (all-in)", "unit"),
    ("Lineage spend of approved", "money"),
]


@dataclass
class Dashboard:
    scope: CostScope
    report: CostReport
    operations: object
    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    budgets: list = field(default_factory=list)
    campaign_count: int = 0
    burn: object = None

    @property
    def breakdown_tables(self) -> list[Table]:
        return [self.tables[f"by_{d}"] for d in DIMENSIONS]


def _series_tables(d: Dashboard) -> None:
    rows = d.report.series
    period = "Week of" if rows and rows[0]["weekly"] else "Day"
    d.tables["spend_over_time"] = Table(
        "spend_over_time",
        "Spend and approvals over time",
        [(period, "date"), ("Spend", "money"), ("Images", "int"), ("Approved", "int"), ("Cost per approved", "unit")],
        [[r["day"], r["spend"], r["images"], r["approved"], r["cost_per_approved"]] for r in rows],
    )
    labels = [r["day"].strftime("%d %b") for r in rows]
    d.charts["spend"] = line_chart("Spend over time", labels, [("chart-line-spend", [float(r["spend"]) for r in rows])])
    d.charts["cost_per_approved"] = line_chart(
        "Cost per approved asset over time",
        labels,
        [("chart-line-cpa", [None if r["cost_per_approved"] is None else float(r["cost_per_approved"]) for r in rows])],
    )


def _breakdown_tables(d: Dashboard) -> None:
    for dim in DIMENSIONS:
        lines = d.report.breakdowns.get(dim, [])
        d.tables[f"by_{dim}"] = Table(
            f"by_{dim}",
            f"By {DIMENSION_LABELS[dim].lower()}",
            [(DIMENSION_LABELS[dim], "text"), *BREAKDOWN_COLUMNS],
            [
                [
                    ln.label,
                    ln.jobs,
                    ln.generated,
                    ln.spend,
                    ln.waste,
                    ln.approved,
                    ln.cost_per_approved,
                    ln.lineage_spend,
                ]
                for ln in lines
            ],
        )
    d.charts["by_model"] = bar_chart(
        "Spend by model", [(ln.label, float(ln.spend)) for ln in d.report.breakdowns.get("model", [])][:8]
    )
    d.charts["by_operation"] = bar_chart(
        "Spend by operation", [(ln.label, float(ln.spend)) for ln in d.report.breakdowns.get("operation", [])][:8]
    )


def _operations_tables(d: Dashboard) -> None:
    ops, report = d.operations, d.report
    d.tables["outcomes"] = Table(
        "outcomes",
        "Failures and blocks by cause",
        [("Outcome", "text"), ("Cause", "text"), ("Jobs", "int"), ("Share of jobs", "pct")],
        [[o["status"], o["cause"], o["jobs"], o["rate"]] for o in report.outcomes],
        empty="No job failed or was blocked in this range.",
    )
    d.tables["accuracy"] = Table(
        "accuracy",
        "Estimate accuracy: worst classes",
        [("Model", "text"), ("Quality", "text"), ("Size class (MP)", "int"), ("Jobs", "int"), ("Median error", "pct")],
        [
            [c["model"], c["quality"], c["size_class"], c["observations"], c["median_error_pct"]]
            for c in ops.worst_classes
        ],
        empty="Not enough finished jobs per class yet (three are needed).",
    )
    d.tables["latency"] = Table(
        "latency",
        "Provider latency per deployment",
        [("Deployment", "text"), ("Jobs", "int"), ("p50", "ms"), ("p95", "ms")],
        [[r["deployment"], r["observations"], r["p50_ms"], r["p95_ms"]] for r in ops.latency],
        empty="No finished job recorded its latency in this range.",
    )
    d.tables["jobs_per_hour"] = Table(
        "jobs_per_hour",
        "Jobs per hour, last 24 hours of the range",
        [("Hour", "text"), ("Jobs", "int")],
        [[h["hour"], h["jobs"]] for h in ops.jobs_per_hour],
    )
    d.tables["reviewers"] = Table(
        "reviewers",
        "Reviewer workload",
        [
            ("Reviewer", "text"),
            ("Open stages", "int"),
            ("Overdue", "int"),
            ("Decided in range", "int"),
            ("Median time to decision", "hours"),
        ],
        [[r["reviewer"], r["open"], r["overdue"], r["decided"], r["median_hours_to_decision"]] for r in ops.reviewers],
        empty="Nobody has open review stages or decided one in this range.",
    )
    d.tables["prices"] = Table(
        "prices",
        "Price tables applied",
        [("Price table", "text"), ("Spend settled at its rates", "money"), ("Edited since", "text")],
        [
            [p.label, p.spend, "yes: settled costs keep the rates they settled at" if p.edited_since else "no"]
            for p in report.prices
        ],
    )
    jobs = ops.jobs_per_hour
    d.charts["jobs_per_hour"] = line_chart(
        "Jobs per hour",
        [h["hour"][-5:] for h in jobs],
        [("chart-line-jobs", [float(h["jobs"]) for h in jobs])],
        as_money=False,
    )


def _assets_table(d: Dashboard) -> None:
    # The most recently approved (an index scan), not the most expensive: a sort over every asset of a long
    # range would grow with the data; the breakdowns above carry the totals.
    assets = d.scope.assets().select_related("draft").order_by("-day", "-approved_at")[:TOP_ASSETS]
    d.tables["assets"] = Table(
        "assets",
        f"Recently approved assets and their lineage spend (latest {TOP_ASSETS})",
        [
            ("Image", "text"),
            ("Draft", "text"),
            ("Approved", "date"),
            ("Jobs in lineage", "int"),
            ("Lineage spend", "unit"),
            ("Hours to approval", "hours"),
        ],
        [
            [
                f"#{a.variant_id}",
                a.draft.title,
                a.approved_at,
                a.lineage_jobs,
                a.lineage_spend,
                round(a.seconds_to_approval / 3600, 1),
            ]
            for a in assets
        ],
        empty="No asset was approved in this range.",
    )


def dashboard(scope: CostScope) -> Dashboard:
    """Everything a workspace or campaign cost page shows, in a constant number of queries."""
    histograms = histogram_counts(scope, APPROVAL, *METRICS)  # one read for both reports
    report = cost_report(scope, histograms=histograms)
    operations = operations_report(scope, histograms=histograms, deployments=report.deployments)
    d = Dashboard(scope=scope, report=report, operations=operations)
    _series_tables(d)
    _breakdown_tables(d)
    _operations_tables(d)
    _assets_table(d)
    if scope.campaign is None:
        d.budgets, d.campaign_count = campaign_budgets(scope, d.report.by_campaign)
        d.tables["campaigns"] = Table(
            "campaigns",
            "Campaign budgets",
            [
                ("Campaign", "text"),
                ("Budget", "money"),
                ("Spent", "money"),
                ("Reserved", "money"),
                ("Left", "money"),
                ("Used", "pct"),
                ("Spend in range", "money"),
                ("Cached input saved", "money"),
                ("Spend per day (7 days)", "money"),
                ("Runs out", "date"),
            ],
            [
                [
                    b.campaign.name,
                    b.campaign.budget,
                    b.campaign.spent_cost,
                    b.campaign.reserved_cost,
                    b.remaining,
                    b.used_percent,
                    b.spend_in_range,
                    b.cached_savings if b.cached_jobs else None,
                    b.daily_rate,
                    b.runs_out,
                ]
                for b in d.budgets
            ],
            empty="This workspace has no campaigns yet.",
        )
    else:
        d.burn = campaign_burn_down(scope.campaign)
        burn = d.burn.burn
        d.tables["burn_down"] = Table(
            "burn_down",
            "Budget burn-down",
            [("Day", "date"), ("Spend", "money"), ("Budget left after the day", "money")],
            [[r["day"], r["spend"], r["remaining"]] for r in burn],
            empty="Nothing has been spent from this budget yet.",
        )
        labels = [r["day"].strftime("%d %b") for r in burn]
        remaining = [float(r["remaining"]) for r in burn]
        forecast: list[float | None] = [None] * len(burn)
        if burn and d.burn.runs_out and d.burn.daily_rate > 0:
            labels.append(d.burn.runs_out.strftime("%d %b"))
            forecast = [*([None] * (len(burn) - 1)), float(d.burn.remaining), 0.0]
            remaining.append(None)
        d.charts["burn_down"] = line_chart(
            "Budget burn-down with forecast",
            labels,
            [("chart-line-spend", remaining), ("chart-line-forecast", forecast)],
        )
    return d
