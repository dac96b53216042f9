"""Every access rule, through the API: the key's workspace is a wall (404), scopes narrow a key, and a key
has its user's roles and never more (a marketer cannot decide, nobody approves their own work, only
compliance decides compliance, only auditors and admins export the log)."""

from __future__ import annotations

import json

import pytest

from approvals.reviews import services as review_services
from approvals.reviews.models import Review, StageKind
from studio.core.models import AuditEvent, Role
from studio.generation.models import DraftVersion, VariantStatus
from studio.runs.models import ProductionRun, RunStatus
from tests import factories as f
from tests.api.conftest import problem
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_workspace_objects(db):
    """A second workspace with one of everything, none of which a key of "acme" may see."""
    other = f.WorkspaceFactory(slug="globex", name="Globex")
    maker = member(other, "gus")
    judge = member(other, "gil", Role.BRAND_REVIEWER)
    campaign = f.CampaignFactory(workspace=other)
    fmt = f.CampaignFormatFactory(campaign=campaign, width=64, height=48)
    variant = variant_for(other, creator=maker, campaign=campaign)
    review = review_services.variant_submit(actor=maker, variant=variant)
    review_services.review_decide(
        actor=judge, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    from approvals.publishing import services as publishing

    publication = publishing.publication_create(actor=maker, variant=variant, target_format=fmt)
    run = ProductionRun.objects.create(
        workspace=other,
        campaign=campaign,
        source_version=variant.job.draft_version,
        deployment=variant.job.deployment,
        variants_per_cell=1,
        created_by=maker,
    )
    return {
        "campaigns": campaign.pk,
        "drafts": variant.draft_id,
        "jobs": variant.job_id,
        "variants": variant.pk,
        "reviews": review.pk,
        "publications": publication.pk,
        "runs": run.pk,
    }


@pytest.mark.parametrize("resource", ["campaigns", "drafts", "jobs", "variants", "reviews", "publications", "runs"])
def test_other_workspaces_objects_are_404(api_for, workspace, ws_admin, other_workspace_objects, resource):
    pk = other_workspace_objects[resource]
    api = api_for(ws_admin, workspace)
    response = api.get(f"/api/v1/{resource}/{pk}/")
    assert response.status_code == 404
    problem(response)
    listing = api.get(f"/api/v1/{resource}/")
    assert listing.status_code == 200
    assert pk not in [row["id"] for row in listing.json()["results"]]


def test_other_workspaces_files_and_writes_are_404_or_refused(api_for, workspace, ws_admin, other_workspace_objects):
    api = api_for(ws_admin, workspace)
    for path in ("variants/{}/image", "variants/{}/thumbnail"):
        assert api.get("/api/v1/" + path.format(other_workspace_objects["variants"])).status_code == 404
    assert api.get(f"/api/v1/publications/{other_workspace_objects['publications']}/file").status_code == 404
    response = api.post(
        f"/api/v1/reviews/{other_workspace_objects['reviews']}/decisions/",
        {"outcome": "approve", "expected_sha256": "0" * 64},
    )
    assert response.status_code == 404
    response = api.post("/api/v1/reviews/", {"variant": other_workspace_objects["variants"]})
    assert response.status_code == 422
    assert problem(response)["errors"] == {"variant": "No such variant here."}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "runs/{runs}/cancel/", None),
        ("POST", "publications/{publications}/retract/", {"reason": "Wrong price"}),
        ("GET", "drafts/{drafts}/versions/", None),
        ("POST", "drafts/{drafts}/versions/", {"text": "A bowl of limes"}),
    ],
)
def test_other_workspaces_actions_are_404_and_change_nothing(
    api_for, workspace, ws_admin, other_workspace_objects, method, path, body
):
    from approvals.publishing.models import Publication, PublicationStatus

    api = api_for(ws_admin, workspace)
    url = "/api/v1/" + path.format(**other_workspace_objects)
    response = api.get(url) if method == "GET" else api.post(url, body)
    assert response.status_code == 404
    problem(response)
    assert ProductionRun.objects.get(pk=other_workspace_objects["runs"]).status == RunStatus.RUNNING
    assert Publication.objects.get(pk=other_workspace_objects["publications"]).status == PublicationStatus.PUBLISHED
    assert DraftVersion.objects.filter(draft_id=other_workspace_objects["drafts"]).count() == 1


# --- scopes -------------------------------------------------------------------------------------------------


def test_a_read_only_key_cannot_write(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace, ["read"])
    response = api.post("/api/v1/drafts/", {"campaign": campaign.pk, "title": "T", "text": "Lemons"})
    assert response.status_code == 403
    assert "generate" in problem(response)["detail"]


def test_a_key_without_read_cannot_list(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace, ["generate"])
    assert api.get("/api/v1/campaigns/").status_code == 403
    response = api.post("/api/v1/drafts/", {"campaign": campaign.pk, "title": "T", "text": "Lemons"})
    assert response.status_code == 201


def test_review_and_publish_scopes_are_separate(api_for, workspace, marketer, reviewer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    assert (
        api_for(marketer, workspace, ["read", "publish"]).post("/api/v1/reviews/", {"variant": variant.pk}).status_code
        == 403
    )
    assert api_for(marketer, workspace, ["review"]).post("/api/v1/reviews/", {"variant": variant.pk}).status_code == 201


# --- roles: a key is its user ---------------------------------------------------------------------------------


def _submitted(workspace, maker, campaign):
    variant = variant_for(workspace, creator=maker, campaign=campaign)
    review = review_services.variant_submit(actor=maker, variant=variant)
    return variant, review


def test_a_marketer_key_cannot_decide(api_for, workspace, marketer, campaign):
    maker = member(workspace, "max")
    variant, review = _submitted(workspace, maker, campaign)
    response = api_for(marketer, workspace).post(
        f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "approve", "expected_sha256": variant.sha256}
    )
    assert response.status_code == 403
    body = problem(response)
    assert body["code"] == "role_required"
    assert "brand reviewer" in body["detail"]
    review.refresh_from_db()
    assert review.is_open
    # The refusal is recorded, as on the review page.
    assert AuditEvent.objects.filter(action="approvals.review.decision_refused", actor=marketer).exists()


def test_a_key_cannot_approve_its_own_users_work(api_for, workspace, campaign):
    both = member(workspace, "bea", Role.BRAND_REVIEWER)
    f.MembershipFactory(user=both, workspace=workspace, role=Role.MARKETER)
    variant, review = _submitted(workspace, both, campaign)
    response = api_for(both, workspace).post(
        f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "approve", "expected_sha256": variant.sha256}
    )
    assert response.status_code == 403
    assert problem(response)["code"] == "self_approval_forbidden"
    variant.refresh_from_db()
    assert variant.status == VariantStatus.IN_REVIEW


def test_an_admin_key_cannot_decide_compliance(api_for, workspace, ws_admin, reviewer, marketer, campaign):
    workspace.regulated = True
    workspace.save()
    variant, review = _submitted(workspace, marketer, campaign)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    compliance_stage = review.stages.get(kind=StageKind.COMPLIANCE)
    response = api_for(ws_admin, workspace).post(
        f"/api/v1/reviews/{review.pk}/decisions/",
        {"stage": compliance_stage.pk, "outcome": "approve", "expected_sha256": variant.sha256},
    )
    assert response.status_code == 403
    assert "compliance auditor" in problem(response)["detail"]


def test_reviewer_key_decides_and_a_stale_image_is_409(api_for, workspace, marketer, reviewer, campaign):
    variant, review = _submitted(workspace, marketer, campaign)
    api = api_for(reviewer, workspace)
    stale = api.post(f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "approve", "expected_sha256": "a" * 64})
    assert stale.status_code == 409
    assert "changed" in problem(stale)["detail"]
    note_missing = api.post(
        f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "reject", "expected_sha256": variant.sha256}
    )
    assert note_missing.status_code == 422
    ok = api.post(f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "approve", "expected_sha256": variant.sha256})
    assert ok.status_code == 201, ok.content
    assert ok.json()["reviewer"] == "rob"
    assert ok.json()["outcome"] == "approve"
    variant.refresh_from_db()
    assert variant.status == VariantStatus.APPROVED
    again = api.post(
        f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "approve", "expected_sha256": variant.sha256}
    )
    assert again.status_code in (409, 422)
    problem(again)


def test_submit_publish_and_download_through_the_api(
    api_for, workspace, marketer, reviewer, campaign, django_capture_on_commit_callbacks
):
    fmt = f.CampaignFormatFactory(campaign=campaign, name="Small", width=32, height=24)
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    maker = api_for(marketer, workspace)
    submitted = maker.post("/api/v1/reviews/", {"variant": variant.pk})
    assert submitted.status_code == 201
    assert submitted["Location"] == f"/api/v1/reviews/{submitted.json()['id']}/"
    review = Review.objects.get(pk=submitted.json()["id"])
    api_for(reviewer, workspace).post(
        f"/api/v1/reviews/{review.pk}/decisions/", {"outcome": "approve", "expected_sha256": variant.sha256}
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # eager Celery: renders on commit
        published = maker.post("/api/v1/publications/", {"variant": variant.pk, "target_format": fmt.pk})
    assert published.status_code == 202, published.content
    assert published.json() == {"variant": variant.pk, "target_format": fmt.pk, "status": "queued", "publication": None}
    assert callbacks  # the render, enqueued after commit
    listing = maker.get("/api/v1/publications/", variant=variant.pk).json()["results"]
    assert len(listing) == 1
    assert listing[0]["width"] == 32
    assert listing[0]["campaign"] == campaign.pk
    again = maker.post("/api/v1/publications/", {"variant": variant.pk, "target_format": fmt.pk})
    assert again.status_code == 200
    assert again.json()["publication"] == listing[0]["id"]
    download = maker.get(listing[0]["file_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")


def test_a_compliance_key_cannot_publish(api_for, workspace, marketer, reviewer, compliance, campaign):
    fmt = f.CampaignFormatFactory(campaign=campaign, width=48, height=48)
    variant, review = _submitted(workspace, marketer, campaign)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    response = api_for(compliance, workspace).post(
        "/api/v1/publications/", {"variant": variant.pk, "target_format": fmt.pk}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="approvals.publication.refused", actor=compliance).exists()


def test_variant_image_and_thumbnail_download(api_for, workspace, marketer, campaign):
    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    api = api_for(marketer, workspace, ["read"])
    for path in (f"/api/v1/variants/{variant.pk}/image", f"/api/v1/variants/{variant.pk}/thumbnail"):
        response = api.get(path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert api.get("/api/v1/variants/999999/image").status_code == 404


def test_audit_export_for_auditors_and_admins_only(api_for, workspace, marketer, ws_admin, compliance, campaign):
    refused = api_for(marketer, workspace).get("/api/v1/audit/export/")
    assert refused.status_code == 403
    assert "compliance auditor" in problem(refused)["detail"]
    for user in (ws_admin, compliance):
        response = api_for(user, workspace, ["read"]).get("/api/v1/audit/export/", format="json")
        assert response.status_code == 200
        rows = json.loads(b"".join(response.streaming_content))
        assert rows
        assert all(row["workspace"] == "acme" for row in rows)
    csv = api_for(compliance, workspace, ["read"]).get("/api/v1/audit/export/", format="csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert AuditEvent.objects.filter(action="compliance.log.exported").count() == 3


def test_job_launch_uses_the_studios_budget_check(
    api_for, workspace, marketer, campaign, ad_format, offline_deployment
):
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=marketer)
    f.DraftVersionFactory(draft=draft, created_by=marketer, number=1)
    api = api_for(marketer, workspace)
    body = {"draft": draft.pk, "target_format": ad_format.pk, "n": 1, "quality": "low"}
    campaign.budget = 0
    campaign.save()
    broke = api.post("/api/v1/jobs/", body)
    assert broke.status_code == 409, broke.content
    assert problem(broke)["code"] == "budget_exceeded"
    campaign.budget = 100
    campaign.save()
    launched = api.post("/api/v1/jobs/", body)
    assert launched.status_code == 201, launched.content
    job = launched.json()
    assert job["target_width"] == 1200
    assert job["draft"] == draft.pk
    assert job["created_by"] == "mia"
    assert api.get(f"/api/v1/jobs/{job['id']}/").json()["id"] == job["id"]
    reviewer_key = api_for(member(workspace, "rae", Role.BRAND_REVIEWER), workspace)
    assert reviewer_key.post("/api/v1/jobs/", body).status_code == 403


def test_retract_through_the_api(api_for, workspace, marketer, reviewer, compliance, campaign):
    from approvals.publishing import services as publishing
    from approvals.publishing.models import PublicationStatus

    fmt = f.CampaignFormatFactory(campaign=campaign, width=32, height=24)
    variant, review = _submitted(workspace, marketer, campaign)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    publication = publishing.publication_create(actor=marketer, variant=variant, target_format=fmt)
    url = f"/api/v1/publications/{publication.pk}/retract/"
    assert api_for(compliance, workspace).post(url, {"reason": "Wrong price"}).status_code == 403
    assert api_for(marketer, workspace, ["read"]).post(url, {"reason": "Wrong price"}).status_code == 403
    assert api_for(marketer, workspace).post(url, {}).status_code == 400
    done = api_for(marketer, workspace).post(url, {"reason": "Wrong price"})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == PublicationStatus.RETRACTED
    assert done.json()["retraction_reason"] == "Wrong price"
    again = api_for(marketer, workspace).post(url, {"reason": "Again"})
    assert again.status_code in (409, 422)
    problem(again)
