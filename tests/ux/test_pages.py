"""Small things each role sees (issue 14): landing, header links, parameter labels, the safety panel's
"nothing matched", the inbox settling decided reviews, Localise offering only missing locales."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.reviews import services
from approvals.reviews.models import DecisionOutcome, StageKind
from studio.core.models import Notification
from studio.generation.models import DraftVersion, Operation, VariantStatus
from tests import factories as f
from tests.approvals.factories_reviews import variant_for

pytestmark = pytest.mark.django_db


def _nav(html: str) -> str:
    start = html.index('aria-label="Main"')
    return html[start : html.index("</nav>", start)]


def test_reviewer_lands_on_the_queue_once_then_the_studio_opens(client, reviewer, workspace):
    client.force_login(reviewer)
    first = client.get("/")
    assert first.status_code == 302
    assert first["Location"] == reverse("approvals:queue")
    assert client.get("/").status_code in (200, 302)
    assert client.get("/").get("Location", "") != reverse("approvals:queue")


def test_compliance_lands_on_the_log(client, compliance, workspace):
    client.force_login(compliance)
    response = client.get("/")
    assert response["Location"] == reverse("compliance:log")


def test_marketer_lands_in_the_studio(client, marketer, workspace):
    client.force_login(marketer)
    response = client.get("/")
    assert response["Location"] == reverse("studio:workspace", args=[workspace.slug])


def test_header_hides_links_a_role_cannot_use(client, marketer, reviewer, compliance, ws_admin, workspace):
    client.force_login(marketer)
    nav = _nav(client.get(reverse("approvals:inbox")).content.decode())
    assert "Inbox" in nav
    assert "Review queue" not in nav
    assert ">Compliance<" not in nav
    assert ">Costs<" in nav
    client.force_login(reviewer)
    nav = _nav(client.get(reverse("approvals:inbox")).content.decode())
    assert "Review queue" in nav
    assert ">Compliance<" not in nav
    assert ">Costs<" not in nav  # the cost pages admit marketers and workspace admins only
    client.force_login(compliance)
    nav = _nav(client.get(reverse("approvals:inbox")).content.decode())
    assert "Review queue" in nav
    assert ">Compliance<" in nav
    assert ">Costs<" not in nav
    client.force_login(ws_admin)
    assert ">Costs<" in _nav(client.get(reverse("approvals:inbox")).content.decode())


@pytest.fixture
def review(workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    job = variant.job
    job.params = {"model": "gpt-image-1", "n": 2, "quality": "low", "output_format": "png"}
    job.save(update_fields=["params"])
    return services.variant_submit(actor=marketer, variant=variant)


def test_review_page_labels_parameters_and_says_nothing_matched(client, review, reviewer):
    client.force_login(reviewer)
    html = client.get(reverse("approvals:review_detail", args=[review.workspace.slug, review.pk])).content.decode()
    for label in ("<dt>Variants</dt>", "<dt>Quality</dt>", "<dt>File type</dt>", "<dt>Model</dt>"):
        assert label in html
    assert '<dt class="mono">n</dt>' not in html
    if "Prompt</h3>" in html:  # the prompt was screened: no hits means it says so
        assert "Highlighted words matched" not in html
        assert "data-nothing-matched" in html


def test_a_decided_review_stops_showing_as_new_in_the_inbox(client, review, reviewer):
    assert Notification.objects.filter(user=reviewer, kind="review.assigned", read_at__isnull=True).exists()
    services.review_decide(
        actor=reviewer,
        stage=review.stages.get(kind=StageKind.BRAND),
        outcome=DecisionOutcome.APPROVE,
        expected_sha256=review.variant_sha256,
    )
    assert not Notification.objects.filter(user=reviewer, kind="review.assigned", read_at__isnull=True).exists()
    client.force_login(reviewer)
    html = client.get(reverse("approvals:inbox")).content.decode()
    assert 'class="stack inbox-list" role="list"' in html
    assert 'badge-info">New' not in html


def test_localise_offers_only_locales_without_a_version(client, workspace, marketer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, status=VariantStatus.APPROVED)
    DraftVersion.objects.filter(pk=variant.job.draft_version_id).update(locale_copy={"de": "Hallo", "ja": "こんにちは"})
    child = f.VariantFactory(
        job=variant.job,
        workspace=workspace,
        draft=variant.draft,
        created_by=marketer,
        locale="de",
        operation=Operation.LOCALISE,
        status=VariantStatus.READY,
    )
    child.parents.add(variant)
    client.force_login(marketer)
    html = client.get(reverse("studio:variant", args=[workspace.slug, variant.pk])).content.decode()
    assert 'name="locales" value="ja"' in html
    assert 'name="locales" value="de"' not in html
    assert "Already made for: de" in html
