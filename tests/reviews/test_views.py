"""Review pages: queue filters and constant query count, decisions via POST, 404 across workspaces,
plain-words errors instead of 500s, CSRF on."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from approvals.reviews import services
from approvals.reviews.models import Comment, Decision, StageKind
from studio.core.models import Notification, Role
from studio.generation.models import VariantStatus
from studio.safety.models import SafetyVerdict
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def login():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def submit(workspace, marketer, campaign, **extra):
    variant = variant_for(workspace, creator=marketer, campaign=campaign, **extra)
    return services.variant_submit(actor=marketer, variant=variant)


def test_queue_lists_rows_and_requires_login(client, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    response = client.get(reverse("approvals:queue"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(reviewer)
    response = client.get(reverse("approvals:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="queue-row' in html
    assert review.variant.draft.title in html
    assert reverse("approvals:review_detail", args=[workspace.slug, review.pk]) in html


def test_queue_empty_state_for_marketer(login, workspace, marketer, reviewer, campaign):
    submit(workspace, marketer, campaign)
    html = login(marketer).get(reverse("approvals:queue")).content.decode()
    assert "Nothing waiting for you" in html


def test_queue_filters(login, workspace, marketer, reviewer, compliance, campaign, ad_format):
    allow = submit(workspace, marketer, campaign, locale="ja", target_format=ad_format)
    review_verdict = submit(workspace, marketer, campaign, verdict=SafetyVerdict.REVIEW, locale="en")
    client = login(reviewer)
    url = reverse("approvals:queue")

    def titles(params):
        html = client.get(url, params).content.decode()
        return {r.variant.draft.title for r in (allow, review_verdict) if r.variant.draft.title in html}

    assert titles({}) == {allow.variant.draft.title, review_verdict.variant.draft.title}
    assert titles({"locale": "ja"}) == {allow.variant.draft.title}
    assert titles({"verdict": "review"}) == {review_verdict.variant.draft.title}
    assert titles({"format": ad_format.pk}) == {allow.variant.draft.title}
    assert titles({"overdue": "on"}) == set()
    assert titles({"mine": "on"}) == {allow.variant.draft.title, review_verdict.variant.draft.title}
    # Bad input is reported and ignored, never a 500.
    response = client.get(url, {"campaign": "not-a-number", "verdict": "bogus"})
    assert response.status_code == 200
    assert "were not understood" in response.content.decode()


def test_queue_htmx_returns_fragment(login, workspace, marketer, reviewer, campaign):
    submit(workspace, marketer, campaign)
    response = login(reviewer).get(reverse("approvals:queue"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="queue-region"' in html
    assert "<html" not in html


def _queue_queries(login, reviewer) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(reviewer)
    client.get(reverse("approvals:queue"))  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("approvals:queue"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_query_count_constant(login, workspace, marketer, reviewer, campaign, django_assert_num_queries):
    for _ in range(3):
        submit(workspace, marketer, campaign)
    few = _queue_queries(login, reviewer)
    for _ in range(27):
        submit(workspace, marketer, campaign)
    client = login(reviewer)
    client.get(reverse("approvals:queue"))
    with django_assert_num_queries(few):
        response = client.get(reverse("approvals:queue"))
    assert response.content.decode().count('class="queue-row') == 25


def test_decide_via_post(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    stage = review.stages.get()
    response = login(reviewer).post(
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, stage.pk]),
        {"outcome": "approve", "expected_sha256": review.variant_sha256},
    )
    assert response.status_code == 302
    review.variant.refresh_from_db()
    assert review.variant.status == VariantStatus.APPROVED


def test_review_page_shows_image_safety_prompt_and_form(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    html = login(reviewer).get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert "figure-frame" in html
    assert "pin-layer" in html
    assert "Safety check" in html
    assert review.variant.job.prompt in html
    assert f'value="{review.variant_sha256}"' in html
    assert "Record decision" in html


def test_compare_shown_for_edited_version(login, workspace, marketer, reviewer, campaign):
    parent = variant_for(workspace, creator=marketer, campaign=campaign, status=VariantStatus.SUPERSEDED)
    review = submit(workspace, marketer, campaign, parents=[parent])
    html = login(reviewer).get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert 'class="card-body compare"' in html
    assert f"Variant #{parent.pk}" in html


def test_already_decided_shows_who_with_409(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    stage = review.stages.get()
    services.review_decide(actor=reviewer, stage=stage, outcome="approve", expected_sha256=review.variant_sha256)
    bea = member(workspace, "bea", Role.BRAND_REVIEWER)
    url = reverse("approvals:review_decide", args=[workspace.slug, review.pk, stage.pk])
    data = {"outcome": "reject", "note": "no", "expected_sha256": review.variant_sha256}
    response = login(bea).post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    html = response.content.decode()
    assert "Already decided by rob at" in html
    assert 'id="decision"' in html
    assert "<html" not in html
    full = login(bea).post(url, data)
    assert full.status_code == 409
    assert "Already decided by rob" in full.content.decode()
    assert Decision.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"outcome": "approve"},
        {"outcome": "approve", "expected_sha256": "not-a-sha"},
        {"outcome": "explode", "expected_sha256": "a" * 64},
        {"outcome": "reject", "expected_sha256": "a" * 64},
        {"outcome": "approve", "expected_sha256": "a" * 64},
        {"outcome": "approve", "expected_sha256": "a" * 64, "comment_ids": ["x"]},
    ],
)
def test_bad_decision_input_is_explained_not_500(login, workspace, marketer, reviewer, campaign, data):
    review = submit(workspace, marketer, campaign)
    response = login(reviewer).post(
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, review.stages.get().pk]), data
    )
    assert response.status_code in (409, 422)
    assert 'role="alert"' in response.content.decode()
    assert not Decision.objects.exists()


def test_self_approval_refused_with_403(login, workspace, campaign, reviewer):
    maker = member(workspace, "maker", Role.BRAND_REVIEWER)
    f.MembershipFactory(user=maker, workspace=workspace, role=Role.MARKETER)
    review = submit(workspace, maker, campaign)
    response = login(maker).post(
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, review.stages.get().pk]),
        {"outcome": "approve", "expected_sha256": review.variant_sha256},
    )
    assert response.status_code == 403
    assert "someone else must approve" in response.content.decode()


def test_other_workspace_gets_404(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    outsider = member(f.WorkspaceFactory(slug="other"), "olga", Role.BRAND_REVIEWER)
    client = login(outsider)
    assert client.get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).status_code == 404
    assert client.get(reverse("approvals:review_detail", args=[workspace.slug, 999999])).status_code == 404
    decide = reverse("approvals:review_decide", args=[workspace.slug, review.pk, review.stages.get().pk])
    assert client.post(decide, {"outcome": "approve", "expected_sha256": review.variant_sha256}).status_code == 404
    assert client.post(reverse("approvals:variant_submit", args=[workspace.slug, review.variant_id])).status_code == 404
    comment = reverse("approvals:comment_add", args=[workspace.slug, review.pk])
    assert client.post(comment, {"text": "hi"}).status_code == 404
    assert not Decision.objects.exists()


def test_csrf_enforced(workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = client.post(
        reverse("approvals:review_decide", args=[workspace.slug, review.pk, review.stages.get().pk]),
        {"outcome": "approve", "expected_sha256": review.variant_sha256},
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_submit_view_htmx_partial_and_redirect(login, workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    client = login(marketer)
    url = reverse("approvals:variant_submit", args=[workspace.slug, variant.pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Submitted for review" in response.content.decode()
    again = client.post(url, follow=True)
    assert again.status_code == 200
    assert "This version is already in review" in again.content.decode()
    partial = client.post(url, HTTP_HX_REQUEST="true")
    assert partial.status_code == 422
    assert "This version is already in review" in partial.content.decode()


def test_request_override_view(login, workspace, marketer, compliance, campaign):
    blocked = variant_for(
        workspace, creator=marketer, campaign=campaign, status=VariantStatus.BLOCKED, verdict=SafetyVerdict.BLOCK
    )
    client = login(marketer)
    url = reverse("approvals:request_override", args=[workspace.slug, blocked.pk])
    assert client.post(url, {"reason": ""}, HTTP_HX_REQUEST="true").status_code == 422
    response = client.post(url, {"reason": "Archive photo, approved by legal"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert blocked.reviews.get().is_override
    assert "Override request" in login(compliance).get(reverse("approvals:queue")).content.decode()


def test_bulk_approve_only_allow_items(login, workspace, marketer, reviewer, campaign):
    ok = submit(workspace, marketer, campaign)
    risky = submit(workspace, marketer, campaign, verdict=SafetyVerdict.REVIEW)
    stale = submit(workspace, marketer, campaign)
    items = [
        f"{ok.stages.get().pk}:{ok.variant_sha256}",
        f"{risky.stages.get(kind=StageKind.BRAND).pk}:{risky.variant_sha256}",
        f"{stale.stages.get().pk}:{'0' * 64}",
    ]
    response = login(reviewer).post(reverse("approvals:bulk_approve"), {"items": items}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Approved 1 of 3 selected" in html
    assert "Needs a closer look" in html
    assert "The image changed" in html
    for review in (ok, risky, stale):
        review.variant.refresh_from_db()
    statuses = {r.pk: r.variant.status for r in (ok, risky, stale)}
    assert statuses == {
        ok.pk: VariantStatus.APPROVED,
        risky.pk: VariantStatus.IN_REVIEW,
        stale.pk: VariantStatus.IN_REVIEW,
    }
    bad = login(reviewer).post(reverse("approvals:bulk_approve"), {"items": ["garbage"]})
    assert bad.status_code == 302


def test_comment_add_and_resolve_views(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    client = login(reviewer)
    url = reverse("approvals:comment_add", args=[workspace.slug, review.pk])
    response = client.post(url, {"text": "Logo too small", "x": "0.1", "y": "0.2", "w": "0.3", "h": "0.1"})
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert (comment.x, comment.y, comment.w, comment.h) == (0.1, 0.2, 0.3, 0.1)
    bad = client.post(url, {"text": "x", "x": "0.9", "y": "0.2", "w": "0.3", "h": "0.1"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    assert "inside the image" in bad.content.decode()
    half = client.post(url, {"text": "x", "x": "0.5"}, HTTP_HX_REQUEST="true")
    assert half.status_code == 422
    page = client.get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert 'class="comment-pin' in page
    assert 'data-x="0.100000"' in page
    resolved = client.post(
        reverse("approvals:comment_resolve", args=[workspace.slug, comment.pk]), {"review": review.pk}
    )
    assert resolved.status_code == 302
    comment.refresh_from_db()
    assert comment.resolved


def test_inbox_and_mark_read(login, workspace, marketer, reviewer, campaign):
    submit(workspace, marketer, campaign)
    client = login(reviewer)
    html = client.get(reverse("approvals:inbox")).content.decode()
    assert "Brand review requested" in html
    assert client.post(reverse("approvals:inbox_mark_read")).status_code == 302
    assert not Notification.objects.filter(user=reviewer, read_at__isnull=True).exists()


def test_fix_this_link_on_open_pinned_comments_for_people_who_may_edit(
    login, workspace, marketer, reviewer, ws_admin, campaign
):
    review = submit(workspace, marketer, campaign)
    variant = review.variant
    pinned = services.comment_add(actor=reviewer, variant=variant, text="Logo too small", box=(0.1, 0.2, 0.3, 0.1))
    done = services.comment_add(actor=reviewer, variant=variant, text="Crop tighter", box=(0.5, 0.5, 0.2, 0.2))
    services.comment_resolve(actor=reviewer, comment=done)
    plain = services.comment_add(actor=reviewer, variant=variant, text="Nice colours", box=None)
    url = reverse("approvals:review_detail", args=[workspace.slug, review.pk])
    studio_url = reverse("studio:variant", kwargs={"slug": workspace.slug, "pk": variant.pk})
    for editor in (marketer, ws_admin):
        html = login(editor).get(url).content.decode()
        assert f'href="{studio_url}?fix_comment={pinned.pk}"' in html
        assert f"fix_comment={done.pk}" not in html  # resolved: nothing left to fix
        assert f"fix_comment={plain.pk}" not in html  # no marked area to repaint
        assert html.count("data-fix-comment") == 1
    reviewer_html = login(reviewer).get(url).content.decode()
    assert "fix_comment=" not in reviewer_html
    assert "Logo too small" in reviewer_html


def test_review_page_shows_expected_copy_for_the_variants_locale(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign, locale="ja")
    version = review.variant.job.draft_version
    version.locale_copy = {"en": "Hello spring", "ja": "春のセール"}
    version.save(update_fields=["locale_copy"])
    html = login(reviewer).get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert 'Expected in-image copy (ja): «<span lang="ja">春のセール</span>»' in html
    assert "Hello spring" not in html


def test_review_page_has_no_expected_copy_without_copy_for_the_locale(login, workspace, marketer, reviewer, campaign):
    german = submit(workspace, marketer, campaign, locale="de")
    no_locale = submit(workspace, marketer, campaign)
    for review in (german, no_locale):
        version = review.variant.job.draft_version
        version.locale_copy = {"en": "Hello spring"}
        version.save(update_fields=["locale_copy"])
        html = (
            login(reviewer).get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
        )
        assert "Expected in-image copy" not in html


def test_queue_hides_reviews_the_reviewer_already_decided_and_own_work(
    login, workspace, marketer, reviewer, compliance, campaign
):
    # Rob holds both roles here, yet after deciding the brand stage the compliance stage is not his.
    f.MembershipFactory(user=reviewer, workspace=workspace, role=Role.COMPLIANCE)
    regulated = submit(workspace, marketer, campaign, verdict=SafetyVerdict.REVIEW)
    brand = regulated.stages.get(kind=StageKind.BRAND)
    services.review_decide(actor=reviewer, stage=brand, outcome="approve", expected_sha256=regulated.variant_sha256)
    waiting = submit(workspace, marketer, campaign)
    # An image the reviewer made, submitted by the marketer: never theirs to approve.
    own = services.variant_submit(actor=marketer, variant=variant_for(workspace, creator=reviewer, campaign=campaign))
    html = login(reviewer).get(reverse("approvals:queue")).content.decode()
    assert f"stage-{waiting.stages.get().pk}" in html
    assert f"stage-{own.stages.get().pk}" not in html
    assert "stage-" + str(regulated.stages.get(kind=StageKind.COMPLIANCE).pk) not in html
    compliance_html = login(compliance).get(reverse("approvals:queue")).content.decode()
    assert f"stage-{regulated.stages.get(kind=StageKind.COMPLIANCE).pk}" in compliance_html


def test_comment_added_in_place_refreshes_the_pins_on_the_image(login, workspace, marketer, reviewer, campaign):
    review = submit(workspace, marketer, campaign)
    client = login(reviewer)
    response = client.post(
        reverse("approvals:comment_add", args=[workspace.slug, review.pk]),
        {"text": "Logo too small", "x": "0.1", "y": "0.2", "w": "0.3", "h": "0.1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="pin-marks" class="pin-marks" hx-swap-oob="true"' in html
    assert 'class="comment-pin' in html
    assert 'data-x="0.100000"' in html
    full = client.get(reverse("approvals:review_detail", args=[workspace.slug, review.pk])).content.decode()
    assert full.count('id="pin-marks"') == 1
    assert "hx-swap-oob" not in full


def test_queue_filters_render_as_labelled_selects_keeping_the_choice(client, reviewer, workspace):
    client.force_login(reviewer)
    html = client.get(reverse("approvals:queue"), {"verdict": "allow", "workspace": workspace.slug}).content.decode()
    assert '<option value="allow" selected>Allow</option>' in html
    assert f'<option value="{workspace.slug}" selected>{workspace.name}</option>' in html
    # Each select sits inside its label, so it keeps its accessible name.
    assert 'Safety verdict</span><select id="id_verdict" name="verdict">' in html
