"""Reviewing a production run: the grid (copy, filters, constant queries, workspace wall) and bulk
decisions that go through the per-image decision service and list every refusal with its reason."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.reviews import services
from approvals.reviews.models import Decision, ReviewStage, StageKind, StageStatus
from approvals.reviews.services.bulk import BulkItem, run_bulk_decide
from studio.core.models import AuditEvent, Role
from studio.generation.models import VariantStatus
from studio.safety.models import SafetyVerdict
from tests import factories as f
from tests.approvals.factories_reviews import member
from tests.reviews.run_fixtures import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def formats(campaign):
    return [
        f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=1200, height=628),
        f.CampaignFormatFactory(campaign=campaign, name="Instagram Story", width=1080, height=1920),
    ]


def submitted_run(workspace, marketer, campaign, formats, **extra):
    fixture = make_run(workspace=workspace, creator=marketer, campaign=campaign, formats=formats, **extra)
    for variant in fixture.variants():
        services.variant_submit(actor=marketer, variant=variant)
    return fixture


def items_for(variants):
    return [BulkItem(variant_id=v.pk, sha256=v.sha256) for v in variants]


def test_bulk_approve_decides_each_image_through_the_decision_service(workspace, marketer, reviewer, campaign, formats):
    fixture = submitted_run(workspace, marketer, campaign, formats)
    variants = fixture.variants()
    outcome = run_bulk_decide(actor=reviewer, run=fixture.run, items=items_for(variants), outcome="approve")
    assert [r.ok for r in outcome.results] == [True] * 4
    assert outcome.summary == "Approved 4 of 4 selected."
    assert Decision.objects.filter(reviewer=reviewer, outcome="approve").count() == 4  # one per image
    for variant in variants:
        variant.refresh_from_db()
        assert variant.status == VariantStatus.APPROVED
    # Each decision wrote its own audit event, as a decision on the review page does.
    assert (
        AuditEvent.objects.filter(workspace=workspace, action="approvals.stage.approved", actor=reviewer).count() == 4
    )


def test_refusals_are_listed_with_their_reason_never_skipped(workspace, marketer, reviewer, campaign, formats):
    fixture = submitted_run(workspace, marketer, campaign, formats)
    ad_en, ad_ja, story_en, story_ja = (
        fixture.cell("LinkedIn ad", "en").job.variants.get(),
        fixture.cell("LinkedIn ad", "ja").job.variants.get(),
        fixture.cell("Instagram Story", "en").job.variants.get(),
        fixture.cell("Instagram Story", "ja").job.variants.get(),
    )
    # A "review" verdict needs a closer look; a stale sha is the version binding; one not in review.
    type(ad_ja).objects.filter(pk=ad_ja.pk).update(safety_verdict=SafetyVerdict.REVIEW)
    ad_ja.reviews.update(safety_verdict=SafetyVerdict.REVIEW)
    outsider_run_image = make_run(
        workspace=workspace, creator=marketer, campaign=campaign, formats=formats[:1], locales=("en",)
    ).variants()[0]
    items = [
        BulkItem(ad_en.pk, ad_en.sha256),
        BulkItem(ad_ja.pk, ad_ja.sha256),
        BulkItem(story_en.pk, "0" * 64),
        BulkItem(outsider_run_image.pk, outsider_run_image.sha256),
        BulkItem(story_ja.pk, story_ja.sha256),
    ]
    outcome = run_bulk_decide(actor=reviewer, run=fixture.run, items=items, outcome="approve")
    by_id = {r.variant_id: r for r in outcome.results}
    assert len(outcome.results) == 5
    assert by_id[ad_en.pk].ok
    assert by_id[story_ja.pk].ok
    assert not by_id[ad_ja.pk].ok
    assert 'safety verdict is "review"' in by_id[ad_ja.pk].message
    assert not by_id[story_en.pk].ok
    assert "image changed since you opened it" in by_id[story_en.pk].message
    assert by_id[outsider_run_image.pk].message == "Not part of this run."
    assert by_id[ad_en.pk].label == f"LinkedIn ad · en (image #{ad_en.pk})"
    assert outcome.summary == "Approved 2 of 5 selected. 3 refused: see why below."
    # The stale one was refused by the rules: the refusal is in the audit trail.
    assert AuditEvent.objects.filter(action="approvals.review.decision_refused", actor=reviewer).count() == 1


def test_own_work_and_separation_of_duties_are_refused(workspace, marketer, reviewer, compliance, campaign, formats):
    workspace.regulated = True  # brand, then compliance
    workspace.save(update_fields=["regulated"])
    fixture = submitted_run(workspace, marketer, campaign, formats[:1], locales=("en",))
    variant = fixture.variants()[0]
    admin = member(workspace, "adam", Role.ADMIN)
    # The maker cannot approve their own image, even holding an admin role.
    type(variant).objects.filter(pk=variant.pk).update(created_by=admin)
    own = run_bulk_decide(actor=admin, run=fixture.run, items=items_for([variant]), outcome="approve")
    assert not own.results[0].ok
    assert "someone else must approve it" in own.results[0].message
    type(variant).objects.filter(pk=variant.pk).update(created_by=marketer)
    # The brand stage is decided; the compliance stage is now pending.
    first = run_bulk_decide(actor=reviewer, run=fixture.run, items=items_for([variant]), outcome="approve")
    assert first.results[0].ok
    assert first.results[0].message == "Approved (brand review)."
    # One decision per stage: a brand reviewer cannot decide the compliance stage.
    again = run_bulk_decide(actor=reviewer, run=fixture.run, items=items_for([variant]), outcome="approve")
    assert not again.results[0].ok
    assert "compliance" in again.results[0].message.lower()
    done = run_bulk_decide(actor=compliance, run=fixture.run, items=items_for([variant]), outcome="approve")
    assert done.results[0].ok
    variant.refresh_from_db()
    assert variant.status == VariantStatus.APPROVED
    # Decided: a later bulk approve says so instead of deciding twice.
    late = run_bulk_decide(actor=compliance, run=fixture.run, items=items_for([variant]), outcome="approve")
    assert late.results[0].message == "This version is already approved."
    assert Decision.objects.filter(stage__review__variant=variant).count() == 2


def test_reviewer_who_decided_brand_cannot_decide_compliance(workspace, marketer, campaign, formats):
    workspace.regulated = True
    workspace.save(update_fields=["regulated"])
    both = member(workspace, "bea", Role.BRAND_REVIEWER)
    f.MembershipFactory(user=both, workspace=workspace, role=Role.COMPLIANCE)
    fixture = submitted_run(workspace, marketer, campaign, formats[:1], locales=("en",))
    variant = fixture.variants()[0]
    assert run_bulk_decide(actor=both, run=fixture.run, items=items_for([variant]), outcome="approve").results[0].ok
    second = run_bulk_decide(actor=both, run=fixture.run, items=items_for([variant]), outcome="approve")
    assert not second.results[0].ok
    assert "someone else must decide this one" in second.results[0].message
    assert ReviewStage.objects.get(review__variant=variant, kind=StageKind.COMPLIANCE).status == StageStatus.PENDING


def test_bulk_reject_needs_a_reason_and_overrides_are_never_bulk_decided(
    workspace, marketer, reviewer, campaign, formats
):
    fixture = submitted_run(workspace, marketer, campaign, formats[:1], locales=("en", "ja"))
    variants = fixture.variants()
    with pytest.raises(services.InvalidDecision, match="Give a reason"):
        run_bulk_decide(actor=reviewer, run=fixture.run, items=items_for(variants), outcome="reject")
    with pytest.raises(services.InvalidDecision, match="Select at least one"):
        run_bulk_decide(actor=reviewer, run=fixture.run, items=[], outcome="approve")
    with pytest.raises(services.InvalidDecision, match="other decisions"):
        run_bulk_decide(actor=reviewer, run=fixture.run, items=items_for(variants), outcome="request_changes")
    variants[1].reviews.update(is_override=True)
    outcome = run_bulk_decide(
        actor=reviewer, run=fixture.run, items=items_for(variants), outcome="reject", note="Wrong product shot"
    )
    assert outcome.results[0].ok
    assert outcome.results[1].message == "A safety override is decided on its own page, never in bulk."
    variants[0].refresh_from_db()
    assert variants[0].status == VariantStatus.REJECTED
    assert Decision.objects.get(stage__review__variant=variants[0]).note == "Wrong product shot"


# --- the page ---------------------------------------------------------------------------------------


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grid_url(fixture, **query):
    url = reverse("approvals:run_review", args=[fixture.run.workspace.slug, fixture.run.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_grid_shows_each_cell_with_its_expected_copy_and_filters(workspace, marketer, reviewer, campaign, formats):
    fixture = submitted_run(workspace, marketer, campaign, formats, empty_cells=(("Instagram Story", "ja"),))
    client = login(reviewer)
    page = client.get(grid_url(fixture)).content.decode()
    assert "春のセール" in page
    assert "Spring sale" in page
    assert page.count("data-run-item") == 3
    assert page.count('name="items"') == 3  # every image waits for this reviewer
    assert "No image yet." in page
    ad_ja = fixture.cell("LinkedIn ad", "ja").job.variants.get()
    type(ad_ja).objects.filter(pk=ad_ja.pk).update(safety_verdict=SafetyVerdict.REVIEW)
    filtered = client.get(grid_url(fixture, verdict="review")).content.decode()
    assert filtered.count("data-run-item") == 1
    assert f"#{ad_ja.pk}" in filtered
    empty = client.get(grid_url(fixture, state="no_image")).content.decode()
    assert empty.count("data-run-item") == 0
    assert "No image yet." in empty
    assert "No cell matches these filters" in client.get(grid_url(fixture, state="rejected")).content.decode()
    # The maker sees the grid but cannot select their own images.
    own = login(marketer).get(grid_url(fixture)).content.decode()
    assert 'name="items"' not in own


def test_grid_is_behind_the_workspace_wall(workspace, marketer, reviewer, campaign, formats):
    fixture = submitted_run(workspace, marketer, campaign, formats[:1], locales=("en",))
    other = f.WorkspaceFactory(slug="other")
    outsider = member(other, "olga", Role.BRAND_REVIEWER)
    client = login(outsider)
    assert client.get(grid_url(fixture)).status_code == 404
    assert client.get(reverse("approvals:run_review", args=[other.slug, fixture.run.pk])).status_code == 404
    post = client.post(
        reverse("approvals:run_review_decide", args=[other.slug, fixture.run.pk]),
        {
            "items": [f"{fixture.variants()[0].pk}:{fixture.variants()[0].sha256}"],
            "outcome": "approve",
            "confirmed": "on",
        },
    )
    assert post.status_code == 404
    assert not Decision.objects.exists()


def test_bulk_post_asks_for_confirmation_then_decides(workspace, marketer, reviewer, campaign, formats):
    fixture = submitted_run(workspace, marketer, campaign, formats)
    variants = fixture.variants()
    client = login(reviewer)
    url = reverse("approvals:run_review_decide", args=[workspace.slug, fixture.run.pk])
    items = [f"{v.pk}:{v.sha256}" for v in variants[:2]]
    confirm = client.post(url, {"items": items, "outcome": "approve"})
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "Approve 2 images?" in body
    assert "data-bulk-confirm" in body
    assert not Decision.objects.exists()  # nothing decided before the confirmation
    done = client.post(url, {"items": items, "outcome": "approve", "confirmed": "on"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    assert "Approved 2 of 2 selected." in done.content.decode()
    assert Decision.objects.count() == 2
    bad = client.post(url, {"items": ["12:nothex"], "outcome": "approve", "confirmed": "on"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    assert "out of date" in bad.content.decode()
    no_reason = client.post(
        url,
        {"items": items[2:] or [f"{variants[2].pk}:{variants[2].sha256}"], "outcome": "reject", "confirmed": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert no_reason.status_code == 422
    assert "Give a reason" in no_reason.content.decode()


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_grid_costs_the_same_queries_at_two_sizes(workspace, marketer, reviewer, campaign):
    small_formats = [
        f.CampaignFormatFactory(campaign=campaign, name=f"Small {i}", width=1200, height=628) for i in range(1)
    ]
    big_formats = [
        f.CampaignFormatFactory(campaign=campaign, name=f"Big {i}", width=1080, height=1080) for i in range(4)
    ]
    small = submitted_run(workspace, marketer, campaign, small_formats, locales=("en",))
    big = submitted_run(workspace, marketer, campaign, big_formats, locales=("en", "ja", "de", "fr"), per_cell=2)
    client = login(reviewer)
    client.get(grid_url(small))  # warm the session and role caches alike
    assert _queries_for(client, grid_url(small)) == _queries_for(client, grid_url(big))
    assert _queries_for(client, grid_url(small, state="awaiting")) == _queries_for(
        client, grid_url(big, state="awaiting")
    )


def test_grid_and_its_filters_cost_the_same_queries_at_4_and_40_cells(workspace, marketer, reviewer, campaign):
    small_formats = [f.CampaignFormatFactory(campaign=campaign, name=f"S{i}", width=1200, height=628) for i in range(2)]
    big_formats = [f.CampaignFormatFactory(campaign=campaign, name=f"B{i}", width=1080, height=1080) for i in range(5)]
    small = submitted_run(workspace, marketer, campaign, small_formats, locales=("en", "ja"))
    big = submitted_run(
        workspace, marketer, campaign, big_formats, locales=("en", "ja", "de", "fr", "es", "it", "nl", "pt")
    )
    assert (small.run.cells.count(), big.run.cells.count()) == (4, 40)
    client = login(reviewer)
    client.get(grid_url(small))  # warm the session and role caches alike
    for filters in ({}, {"state": "awaiting", "verdict": "allow"}, {"page": "1"}):
        assert _queries_for(client, grid_url(small, **filters)) == _queries_for(client, grid_url(big, **filters))


def test_runs_list_links_each_run_to_its_review(workspace, marketer, reviewer, campaign, formats):
    fixture = make_run(workspace=workspace, creator=marketer, campaign=campaign, formats=formats[:1], locales=("en",))
    page = login(reviewer).get(reverse("approvals:run_review_list", args=[workspace.slug])).content.decode()
    assert grid_url(fixture) in page
