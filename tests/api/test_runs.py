"""Production runs through the API: launched and cancelled by the studio's run services, with their
budget check; a reviewer's key may not launch."""

from __future__ import annotations

import pytest

from studio.core.models import Role
from studio.runs.models import ProductionRun, RunStatus
from tests import factories as f
from tests.api.conftest import problem
from tests.approvals.factories_reviews import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(workspace, marketer, campaign):
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=marketer)
    f.DraftVersionFactory(
        draft=draft, created_by=marketer, number=1, locale_copy={"en": "Spring sale", "ja": "春のセール"}
    )
    return draft


def test_launch_read_and_cancel_a_run(api_for, workspace, marketer, campaign, ad_format, offline_deployment, draft):
    api = api_for(marketer, workspace)
    body = {"campaign": campaign.pk, "draft": draft.pk, "formats": [ad_format.pk], "locales": ["en", "ja"]}
    launched = api.post("/api/v1/runs/", {**body, "quality": "low"})
    assert launched.status_code == 201, launched.content
    run = launched.json()
    assert len(run["cells"]) == 2
    assert {c["locale"] for c in run["cells"]} == {"en", "ja"}
    assert ProductionRun.objects.get(pk=run["id"]).created_by == marketer
    assert api.get(f"/api/v1/runs/{run['id']}/").json()["id"] == run["id"]
    assert [r["id"] for r in api.get("/api/v1/runs/").json()["results"]] == [run["id"]]
    cancelled = api.post(f"/api/v1/runs/{run['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] in (RunStatus.CANCELLING, RunStatus.CANCELLED, RunStatus.FINISHED)


def test_a_run_over_budget_is_refused_whole(
    api_for, workspace, marketer, campaign, ad_format, offline_deployment, draft
):
    campaign.budget = 0
    campaign.save()
    response = api_for(marketer, workspace).post(
        "/api/v1/runs/", {"campaign": campaign.pk, "draft": draft.pk, "quality": "low"}
    )
    assert response.status_code == 409
    assert problem(response)["code"] == "budget_exceeded"
    assert not ProductionRun.objects.exists()


def test_run_input_is_checked(api_for, workspace, marketer, campaign, ad_format, offline_deployment, draft):
    api = api_for(marketer, workspace)
    both = api.post("/api/v1/runs/", {"campaign": campaign.pk})
    assert both.status_code == 400
    other_format = f.CampaignFormatFactory(campaign=f.CampaignFactory(workspace=workspace))
    foreign = api.post("/api/v1/runs/", {"campaign": campaign.pk, "draft": draft.pk, "formats": [other_format.pk]})
    assert foreign.status_code == 422
    assert "formats" in problem(foreign)["errors"]
    reviewer = api_for(member(workspace, "rae", Role.BRAND_REVIEWER), workspace)
    assert reviewer.post("/api/v1/runs/", {"campaign": campaign.pk, "draft": draft.pk}).status_code == 403
