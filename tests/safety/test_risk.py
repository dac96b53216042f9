"""Risk: the highest severity any screener reported is kept on the variant, shown and filterable in the queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.reviews import services
from studio.core.models import Role
from studio.generation.models import VariantStatus
from studio.generation.screening import screening_record, variant_apply_screening
from studio.safety.models import SafetyAssessment, SafetyVerdict
from studio.safety.services import screen_image
from tests.approvals.factories_reviews import member, variant_for


def _assess(variant, severity):
    SafetyAssessment.objects.create(
        workspace=variant.workspace,
        variant=variant,
        stage="image",
        screener="azure",
        verdict="review",
        categories=[{"category": "Violence", "severity": severity, "verdict": "review", "assessed": True}],
    )


@pytest.fixture
def people(workspace):
    return member(workspace, "maker"), member(workspace, "checker", Role.BRAND_REVIEWER)


def test_applying_a_screening_records_the_highest_severity(workspace, people):
    maker, _ = people
    variant = variant_for(workspace, creator=maker, status=VariantStatus.SAFETY_PENDING, verdict=SafetyVerdict.PENDING)
    _assess(variant, 4)
    with variant.image.open("rb") as fh:
        screening = screen_image(workspace=workspace, image=fh.read())
    screening_record(screening=screening, stage="image", workspace=workspace, variant=variant)
    variant_apply_screening(variant=variant, screening=screening)
    variant.refresh_from_db()
    assert variant.safety_severity == 4
    assert variant.status == VariantStatus.READY


def test_queue_filters_by_risk_and_shows_it(client, workspace, people):
    maker, checker = people
    calm = variant_for(workspace, creator=maker, safety_severity=0)
    risky = variant_for(workspace, creator=maker, safety_severity=6)
    for variant in (calm, risky):
        services.variant_submit(actor=maker, variant=variant)
    client.force_login(checker)
    high = client.get(reverse("approvals:queue"), {"risk": "high"}).content.decode()
    assert f"#{risky.pk}" in high
    assert f"#{calm.pk}<" not in high
    assert "risk 6/7" in high
    low = client.get(reverse("approvals:queue"), {"risk": "low"}).content.decode()
    assert f"#{calm.pk}</span>" in low
    assert "risk 6/7" not in low
