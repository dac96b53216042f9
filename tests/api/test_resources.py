"""What a pipeline reads and writes besides publications: a campaign with its formats and budget, and a
draft's versions (a new version is numbered, listed and audited; unchanged text adds none)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from studio.core.models import AuditEvent
from studio.generation import services as studio_services
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_campaign_shows_its_formats_and_budget(api_for, workspace, marketer, campaign, ad_format):
    square = f.CampaignFormatFactory(campaign=campaign, name="Square post", channel="Social", width=1080, height=1080)
    campaign.budget = Decimal("250")
    campaign.spent_cost = Decimal("40.5")
    campaign.reserved_cost = Decimal("9.5")
    campaign.budget_alert_percent = 75
    campaign.save()
    api = api_for(marketer, workspace, ["read"])
    body = api.get(f"/api/v1/campaigns/{campaign.pk}/").json()
    assert body["name"] == "Spring launch"
    assert body["slug"] == "spring"
    assert body["locales"] == ["en", "ja"]
    # Money as decimal strings: what is left is the budget less what is spent and what is reserved.
    assert Decimal(body["budget"]) == Decimal("250")
    assert Decimal(body["spent_cost"]) == Decimal("40.5")
    assert Decimal(body["reserved_cost"]) == Decimal("9.5")
    assert Decimal(body["remaining"]) == Decimal("200")
    assert body["budget_alert_percent"] == 75
    formats = sorted(body["formats"], key=lambda fmt: fmt["id"])
    assert formats == [
        {"id": ad_format.pk, "name": "LinkedIn ad", "channel": "Display", "width": 1200, "height": 628},
        {"id": square.pk, "name": "Square post", "channel": "Social", "width": 1080, "height": 1080},
    ]
    listing = api.get("/api/v1/campaigns/", slug="spring").json()["results"]
    assert [row["id"] for row in listing] == [campaign.pk]
    assert listing[0]["formats"] == body["formats"]


def test_a_new_draft_version_is_numbered_listed_and_audited(api_for, workspace, marketer, campaign):
    draft = studio_services.draft_create(actor=marketer, campaign=campaign, title="Spring", text="A bowl of lemons")
    api = api_for(marketer, workspace)
    url = f"/api/v1/drafts/{draft.pk}/versions/"
    body = {"text": "A bowl of limes", "variables": {"fruit": "limes"}, "locale_copy": {"en": "Spring sale"}}
    added = api.post(url, body)
    assert added.status_code == 201, added.content
    version = added.json()
    assert version["draft"] == draft.pk
    assert version["number"] == 2
    assert version["text"] == "A bowl of limes"
    assert version["variables"] == {"fruit": "limes"}
    assert version["locale_copy"] == {"en": "Spring sale"}
    assert version["created_by"] == "mia"
    listed = api.get(url).json()["results"]
    assert sorted(row["number"] for row in listed) == [1, 2]
    assert AuditEvent.objects.filter(action="studio.draft.version_added", actor=marketer).count() == 1
    # The same text again adds nothing: the answer is the latest version, not a new one.
    same = api.post(url, body)
    assert same.status_code == 200
    assert same.json()["id"] == version["id"]
    assert len(api.get(url).json()["results"]) == 2


def test_a_reviewers_key_cannot_add_a_version(api_for, workspace, marketer, reviewer, campaign):
    draft = studio_services.draft_create(actor=marketer, campaign=campaign, title="Spring", text="A bowl of lemons")
    response = api_for(reviewer, workspace).post(f"/api/v1/drafts/{draft.pk}/versions/", {"text": "Limes"})
    assert response.status_code == 403
    assert draft.versions.count() == 1
