"""The cost pages: who sees them (the workspace wall), the date range, CSV exports, the threshold form,
empty states, and a query count that does not grow with the data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio.core.models import Role
from studio.generation.models import Campaign, Operation, VariantStatus
from tests import factories as f


def _url(workspace, campaign=None, **query):
    if campaign is not None:
        url = reverse("costs:campaign", args=[workspace.slug, campaign.slug])
    else:
        url = reverse("costs:dashboard", args=[workspace.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _history(ledger, rounds):
    for i in range(rounds):
        version = ledger.version()
        master = ledger.job(version, "0.40", n=2, quality=["low", "medium", "high"][i % 3])
        edit = ledger.job(version, "0.10", operation=Operation.EDIT, base=master.made[0], cached=200)
        ledger.decide(edit.made[0])
        ledger.decide(master.made[1], VariantStatus.REJECTED)


def test_empty_workspace_says_what_to_do(client, marketer, workspace):
    client.force_login(marketer)
    response = client.get(_url(workspace))
    assert response.status_code == 200
    assert "Nothing was spent or approved in this range" in response.content.decode()


def test_marketer_sees_money_as_money(client, ledger, marketer):
    _history(ledger, 2)
    client.force_login(marketer)
    body = client.get(_url(ledger.workspace)).content.decode()
    assert "$1.00" in body  # spend: 2 x (0.40 + 0.10)
    assert "$0.50" in body  # per approved asset, all-in
    assert "<svg" in body
    assert "style=" not in body
    assert "All amounts are in US dollars" in body


def test_reviewers_are_refused_and_other_workspaces_are_404(client, ledger, reviewer):
    client.force_login(reviewer)
    assert client.get(_url(ledger.workspace)).status_code == 403
    stranger = f.UserFactory()
    other = f.WorkspaceFactory()
    f.MembershipFactory(user=stranger, workspace=other, role=Role.ADMIN)
    client.force_login(stranger)
    assert client.get(_url(ledger.workspace)).status_code == 404
    assert client.get(_url(ledger.workspace, ledger.campaign)).status_code == 404


def test_reversed_and_future_ranges_are_refused(client, marketer, workspace):
    client.force_login(marketer)
    today = timezone.localdate()
    reversed_range = client.get(_url(workspace, since=today, until=today - dt.timedelta(days=3)))
    assert reversed_range.status_code == 400
    assert "The start is after the end" in reversed_range.content.decode()
    future = client.get(_url(workspace, until=today + dt.timedelta(days=1)))
    assert future.status_code == 400
    assert "cannot end in the future" in future.content.decode()


def test_every_table_exports_csv_with_decimal_money(client, ledger, marketer):
    _history(ledger, 1)
    client.force_login(marketer)
    response = client.get(_url(ledger.workspace, export="by_quality"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "Quality"
    assert rows[1][0] == "low"
    assert rows[1][3] == "0.400000"
    assert client.get(_url(ledger.workspace, export="nope")).status_code == 404
    campaign_csv = client.get(_url(ledger.workspace, ledger.campaign, export="burn_down"))
    assert campaign_csv.status_code == 200
    assert "Budget left" in campaign_csv.content.decode()


def test_admin_sets_the_alert_threshold_marketer_cannot(client, ledger, marketer, ws_admin):
    url = reverse("costs:alert_threshold", args=[ledger.workspace.slug, ledger.campaign.slug])
    client.force_login(marketer)
    assert client.post(url, {"percent": 50}).status_code == 403
    client.force_login(ws_admin)
    page = client.get(_url(ledger.workspace, ledger.campaign)).content.decode()
    assert "Save alert" in page
    assert client.post(url, {"percent": 50}).status_code == 302
    assert Campaign.objects.get(pk=ledger.campaign.pk).budget_alert_percent == 50


def test_campaign_page_shows_burn_down_and_forecast(client, ledger, marketer):
    _history(ledger, 1)
    client.force_login(marketer)
    body = client.get(_url(ledger.workspace, ledger.campaign)).content.decode()
    assert "Budget burn-down with forecast" in body
    assert "runs out around" in body


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("campaign_page", [False, True])
def test_query_count_is_constant(client, ledger, marketer, campaign_page):
    client.force_login(marketer)
    campaign = ledger.campaign if campaign_page else None
    _history(ledger, 1)
    small = _queries(client, _url(ledger.workspace, campaign))
    _history(ledger, 4)
    f.CampaignFactory(workspace=ledger.workspace)
    large = _queries(client, _url(ledger.workspace, campaign))
    assert small == large
    assert large <= 30


def test_cost_report_command_prints_the_issue_s_object(ledger, capsys):
    _history(ledger, 2)
    call_command("cost_report", "--workspace", ledger.workspace.slug, "--json", "--verify")
    data = json.loads(capsys.readouterr().out)
    assert data["spend"] == "1.000000"
    assert data["approved"] == 2
    assert data["generated"] == 6
    assert data["cost_per_approved"] == "0.500000"
    assert data["waste"] == "0.000000"
    assert data["verified"] is True
    assert data["cached_savings"] == "0.001500"  # 2 x 200 cached text tokens at $3.75/M saved
    assert {line["key"] for line in data["by_operation"]} == {"generate", "edit"}
    for key in ("cost_per_generated", "cost_per_published", "estimate_median_abs_error_pct", "by_model", "by_quality"):
        assert key in data
    assert Decimal(data["by_model"][0]["spend"]) == Decimal("1")


def test_a_currency_mix_is_refused_not_added(client, ledger, marketer):
    from approvals.costs.models import CostBreakdownDay

    version = ledger.version()
    ledger.job(version, "0.10", quality="low")
    ledger.job(version, "0.10", quality="high")
    CostBreakdownDay.objects.filter(dimension="quality", value="high").update(currency="EUR")
    client.force_login(marketer)
    response = client.get(_url(ledger.workspace))
    assert response.status_code == 409
    assert "EUR, USD" in response.content.decode()


def test_costs_index_lists_or_redirects(client, marketer, workspace):
    client.force_login(marketer)
    response = client.get(reverse("costs:index"))
    assert response.status_code == 302
    assert response["Location"] == _url(workspace)
