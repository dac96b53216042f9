"""The compliance auditor's pages: who may see them, the log (filters, flat query count, on-demand
verification, exports) and one asset's decision trail (page, JSON, audit pack zip)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.compliance.trails import asset_trail, asset_trail_json
from approvals.publishing.models import Publication
from approvals.reviews.models import Comment, Decision, Review, ReviewStage
from studio.core.audit import audit_append
from studio.core.models import AuditEvent
from studio.generation import models as sm
from studio.safety.models import SafetyAssessment
from tests import factories as f

pytestmark = pytest.mark.django_db

LOG = reverse("compliance:log")
VERIFY = reverse("compliance:verify")
EXPORT = reverse("compliance:export")


def _edit_of(parent: sm.Variant, *, instruction: str, color: tuple[int, int, int]) -> sm.Variant:
    """A new version made by editing ``parent`` (as the studio's edit service would)."""
    job = f.GenerationJobFactory(
        draft_version=parent.job.draft_version,
        deployment=parent.job.deployment,
        operation=sm.Operation.EDIT,
        base_variant=parent,
        instruction=instruction,
        prompt=f"{parent.job.prompt}. {instruction}",
        estimated_cost=Decimal("0.05"),
        actual_cost=Decimal("0.06"),
    )
    png = f.png_bytes(64, 48, color)
    child = f.VariantFactory(
        job=job,
        operation=sm.Operation.EDIT,
        image=ContentFile(png, name="edit.png"),
        sha256=hashlib.sha256(png).hexdigest(),
    )
    child.parents.add(parent)
    audit_append(
        workspace=child.workspace,
        actor=child.created_by,
        action="studio.variant.created",
        subject=child,
        data={"parent": parent.pk, "instruction": instruction},
    )
    return child


@pytest.fixture
def asset(workspace, marketer, reviewer, compliance, ad_format):
    """A root image, an edit of it that went through screening, both review stages and publication."""
    root_job = f.GenerationJobFactory(
        draft_version__draft__campaign__workspace=workspace,
        created_by=marketer,
        draft_version__created_by=marketer,
        draft_version__draft__created_by=marketer,
        prompt="Bright style. A sunlit kitchen with lemons",
        params={"quality": "medium", "size": "1536x1024"},
        target_width=1200,
        target_height=628,
        planned_width=1536,
        planned_height=1024,
        estimated_cost=Decimal("0.042"),
        actual_cost=Decimal("0.040"),
        target_format=ad_format,
    )
    audit_append(
        workspace=workspace,
        actor=marketer,
        action="studio.job.created",
        subject=root_job,
        data={"prompt": root_job.prompt},
    )
    root = f.VariantFactory(job=root_job, width=1536, height=1024)
    audit_append(workspace=workspace, actor=marketer, action="studio.variant.created", subject=root)
    prompt_check = SafetyAssessment.objects.create(
        workspace=workspace,
        job=root_job,
        stage="prompt",
        screener="local",
        verdict="allow",
        explanation="No regulated claims found.",
    )
    audit_append(workspace=workspace, actor=None, action="approvals.safety.screened", subject=prompt_check)
    child = _edit_of(root, instruction="Make the lemons greener", color=(10, 200, 10))
    image_check = SafetyAssessment.objects.create(
        workspace=workspace,
        variant=child,
        stage="image",
        screener="local",
        verdict="allow",
        explanation="Image passed.",
    )
    review = Review.objects.create(
        workspace=workspace,
        variant=child,
        variant_sha256=child.sha256,
        safety_verdict="allow",
        submitted_by=marketer,
        status="approved",
    )
    audit_append(workspace=workspace, actor=marketer, action="approvals.review.submitted", subject=review)
    brand = ReviewStage.objects.create(review=review, kind="brand", order=1, status="approved")
    comp = ReviewStage.objects.create(review=review, kind="compliance", order=2, status="approved")
    Decision.objects.create(stage=brand, reviewer=reviewer, outcome="approve", variant_sha256=child.sha256)
    decision = Decision.objects.create(
        stage=comp,
        reviewer=compliance,
        outcome="approve_with_changes",
        note="Add the APR footnote before launch",
        variant_sha256=child.sha256,
    )
    audit_append(
        workspace=workspace,
        actor=compliance,
        action="approvals.review.approved",
        subject=review,
        data={"decision": decision.pk},
    )
    comment = Comment.objects.create(variant=child, author=reviewer, text="Logo too small", x=0.1, y=0.1, w=0.2, h=0.2)
    audit_append(workspace=workspace, actor=reviewer, action="approvals.comment.added", subject=comment)
    rendition = f.png_bytes(120, 63, (1, 2, 3))
    publication = Publication.objects.create(
        workspace=workspace,
        variant=child,
        review=review,
        target_format=ad_format,
        width=1200,
        height=628,
        file=ContentFile(rendition, name="pub.png"),
        sha256=hashlib.sha256(rendition).hexdigest(),
        source_sha256=child.sha256,
        published_by=marketer,
    )
    audit_append(workspace=workspace, actor=marketer, action="approvals.publication.created", subject=publication)
    return {
        "root": root,
        "child": child,
        "review": review,
        "publication": publication,
        "checks": (prompt_check, image_check),
    }


@pytest.fixture
def other_asset(db):
    """An image in a workspace the acme people do not belong to."""
    variant = f.VariantFactory(job__draft_version__draft__campaign__workspace=f.WorkspaceFactory(slug="rival"))
    audit_append(
        workspace=variant.workspace,
        actor=None,
        action="studio.variant.created",
        subject=variant,
        data={"secret": "rival-only"},
    )
    return variant


# --- who may see what -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LOG, EXPORT])
def test_people_without_the_auditor_role_get_403_with_a_reason(client, marketer, reviewer, url):
    for user in (marketer, reviewer, f.UserFactory(username="stranger")):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 403
        assert "Only a compliance auditor or a workspace admin" in response.content.decode()


def test_verify_is_refused_to_marketers(client, marketer):
    client.force_login(marketer)
    assert client.post(VERIFY).status_code == 403


def test_log_needs_login(client):
    response = client.get(LOG)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_trail_of_another_workspace_is_404_and_of_own_workspace_403_for_marketers(
    client, compliance, marketer, asset, other_asset
):
    client.force_login(compliance)
    for name in ("compliance:trail", "compliance:trail_json", "compliance:audit_pack"):
        assert client.get(reverse(name, args=["acme", other_asset.pk])).status_code == 404
        assert client.get(reverse(name, args=["rival", other_asset.pk])).status_code == 404
        assert client.get(reverse(name, args=["acme", 999999])).status_code == 404
    client.force_login(marketer)
    response = client.get(reverse("compliance:trail", args=["acme", asset["child"].pk]))
    assert response.status_code == 403
    assert "audit history of Acme" in response.content.decode()


def test_workspace_admins_may_read_the_trail(client, ws_admin, asset):
    client.force_login(ws_admin)
    assert client.get(reverse("compliance:trail", args=["acme", asset["child"].pk])).status_code == 200


# --- the log ------------------------------------------------------------------------------------------------


def test_log_lists_only_the_auditors_workspaces(client, compliance, asset, other_asset):
    client.force_login(compliance)
    response = client.get(LOG)
    body = response.content.decode()
    assert response.status_code == 200
    assert "approvals.review.approved" in body
    assert "rival-only" not in body
    assert response.context["page_obj"].paginator.count == AuditEvent.objects.filter(workspace__slug="acme").count()


def test_log_filters(client, compliance, asset):
    client.force_login(compliance)
    response = client.get(LOG, {"action": "approvals.review.", "actor": "cora"})
    assert [e.action for e in response.context["events"]] == ["approvals.review.approved"]
    response = client.get(LOG, {"subject_type": "studio.variant", "subject_id": str(asset["child"].pk)})
    assert [e.action for e in response.context["events"]] == ["studio.variant.created"]


def test_log_refuses_a_workspace_the_auditor_cannot_see(client, compliance, asset, other_asset):
    client.force_login(compliance)
    response = client.get(LOG, {"workspace": "rival"})
    assert response.status_code == 200
    assert "rival-only" not in response.content.decode()
    assert "workspace" in response.context["form"].errors


def _log_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(LOG).status_code == 200
    return len(ctx.captured_queries)


def test_log_query_count_does_not_grow_with_the_page(client, compliance, workspace):
    client.force_login(compliance)
    audit_append(workspace=workspace, actor=compliance, action="studio.test.one")
    few = _log_queries(client)
    for i in range(60):
        audit_append(
            workspace=workspace,
            actor=compliance if i % 2 else None,
            action=f"studio.test.{i}",
            subject_type="studio.variant",
            subject_id=i,
            data={"i": i},
        )
    assert _log_queries(client) == few


def test_log_does_not_verify_on_page_load(client, compliance, workspace, monkeypatch):
    from approvals.compliance import views as compliance_views

    def fail(**kwargs):
        raise AssertionError("verification must run only on demand")

    monkeypatch.setattr(compliance_views, "audit_verify", fail)
    client.force_login(compliance)
    body = client.get(LOG).content.decode()
    assert "Verify now" in body
    assert "Chain verified" not in body


def test_verify_now_returns_the_status_partial(client, compliance, asset):
    client.force_login(compliance)
    total = AuditEvent.objects.filter(workspace__slug="acme").count()
    response = client.post(VERIFY, {"workspace": "acme"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Chain verified: {total} events" in body
    assert "<html" not in body
    assert 'id="verify-status"' in body


def test_verify_now_names_the_broken_event(client, compliance, asset):
    AuditEvent.objects.filter(workspace__slug="acme", seq=2).update(data={"tampered": True})
    client.force_login(compliance)
    body = client.post(VERIFY, HTTP_HX_REQUEST="true").content.decode()
    assert "callout-danger" in body
    assert "tampered with at event #2" in body
    assert "event #2 (studio.variant.created) was changed after it was recorded" in body


def test_verify_without_htmx_renders_the_whole_page(client, compliance, asset):
    client.force_login(compliance)
    body = client.post(VERIFY).content.decode()
    assert "<html" in body
    assert "Chain verified:" in body


def test_export_downloads_the_filtered_log_and_records_the_download(client, compliance, asset, other_asset):
    client.force_login(compliance)
    response = client.get(EXPORT, {"format": "csv", "action": "approvals."})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert {r["workspace"] for r in rows} == {"acme"}
    assert all(r["action"].startswith("approvals.") for r in rows)
    recorded = AuditEvent.objects.get(action="compliance.log.exported")
    assert (recorded.actor, recorded.data["format"], recorded.data["filters"]["action"]) == (
        compliance,
        "csv",
        "approvals.",
    )
    response = client.get(EXPORT, {"format": "json"})
    data = json.loads(b"".join(response.streaming_content))
    assert "rival-only" not in json.dumps(data)
    assert client.get(EXPORT, {"format": "xml"}).status_code == 400


# --- one asset's decision trail ---------------------------------------------------------------------------


def test_trail_shows_the_whole_story(client, compliance, asset):
    client.force_login(compliance)
    response = client.get(reverse("compliance:trail", args=["acme", asset["child"].pk]))
    body = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Bright style. A sunlit kitchen with lemons. Make the lemons greener",  # prompt as sent
        "Make the lemons greener",  # the edit's instruction
        f'href="#version-{asset["root"].pk}"',  # the parent link
        "No regulated claims found.",
        "Image passed.",  # safety assessments of the job and the image
        "Add the APR footnote before launch",
        "Approve with changes",  # a decision with its reason
        "1200x628 PNG",  # the publication
        "approvals.publication.created",  # audit events
    ):
        assert text in body, text


def test_asset_trail_assembles_lineage_decisions_and_events(compliance, asset):
    trail = asset_trail(user=compliance, variant_id=asset["child"].pk)
    assert [v.variant.pk for v in trail.versions] == [asset["root"].pk, asset["child"].pk]
    assert trail.versions[1].parent_ids == [asset["root"].pk]
    assert [a.pk for a in trail.versions[0].assessments] == [asset["checks"][0].pk]
    assert [a.pk for a in trail.versions[1].assessments] == [asset["checks"][1].pk]
    assert [s.kind for s in trail.versions[1].reviews[0].stages] == ["brand", "compliance"]
    assert trail.versions[1].publications == [asset["publication"]]
    assert (trail.versions[0].size_matches_plan, trail.versions[1].size_matches_plan) == (True, False)
    assert [e.seq for e in trail.events] == sorted(e.seq for e in trail.events)
    assert {e.action for e in trail.events} >= {
        "studio.job.created",
        "studio.variant.created",
        "approvals.safety.screened",
        "approvals.review.submitted",
        "approvals.review.approved",
        "approvals.publication.created",
        "approvals.comment.added",
    }
    as_json = json.loads(json.dumps(asset_trail_json(trail)))
    stage = as_json["lineage"][1]["reviews"][0]["stages"][1]
    assert stage["decisions"][0] == {
        **stage["decisions"][0],
        "outcome": "approve_with_changes",
        "reason": "Add the APR footnote before launch",
        "reviewer": "cora",
    }
    assert as_json["lineage"][0]["job"]["planned_size"] == "1536x1024"
    assert as_json["lineage"][0]["job"]["target_size"] == "1200x628"
    assert as_json["lineage"][0]["job"]["estimated_cost"] == "0.042000"


def test_asset_trail_query_count_does_not_grow_with_the_lineage(compliance, asset):
    def queries(variant_id: int) -> int:
        compliance.__dict__.pop("_imprimatur_roles", None)
        with CaptureQueriesContext(connection) as ctx:
            asset_trail(user=compliance, variant_id=variant_id)
        return len(ctx.captured_queries)

    short = queries(asset["child"].pk)
    tip = asset["child"]
    for i in range(5):
        tip = _edit_of(tip, instruction=f"Step {i}", color=(i * 40, 20, 20))
    trail = asset_trail(user=compliance, variant_id=tip.pk)
    assert len(trail.versions) == 7
    assert queries(tip.pk) == short


def test_trail_json_download(client, compliance, asset):
    client.force_login(compliance)
    response = client.get(reverse("compliance:trail_json", args=["acme", asset["child"].pk]))
    data = response.json()
    assert data["variant"] == asset["child"].pk
    assert [v["variant"] for v in data["lineage"]] == [asset["root"].pk, asset["child"].pk]


def test_audit_pack_zip_holds_every_version_the_trail_and_correct_sums(client, compliance, asset):
    client.force_login(compliance)
    response = client.get(reverse("compliance:audit_pack", args=["acme", asset["child"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    root, child = asset["root"], asset["child"]
    versions = {f"versions/01-variant-{root.pk}.png", f"versions/02-variant-{child.pk}.png"}
    assert versions <= names
    assert {"trail.json", "manifest.json", "manifest.txt"} <= names
    with root.image.open("rb") as stored:
        assert archive.read(f"versions/01-variant-{root.pk}.png") == stored.read()

    manifest_lines = archive.read("manifest.txt").decode().splitlines()
    sums = dict(reversed(line.split("  ", 1)) for line in manifest_lines)
    assert set(sums) == names - {"manifest.txt", "manifest.json"}
    for name, digest in sums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    manifest = json.loads(archive.read("manifest.json"))
    assert {e["path"]: e["sha256"] for e in manifest["files"]} == sums
    by_path = {e["path"]: e for e in manifest["files"]}
    assert by_path[f"versions/02-variant-{child.pk}.png"]["matches_record"] is True
    assert manifest["missing"] == []
    assert json.loads(archive.read("trail.json"))["variant"] == child.pk
    assert AuditEvent.objects.filter(action="compliance.audit_pack.downloaded", subject_id=str(child.pk)).exists()


def test_audit_pack_lists_a_file_missing_from_storage(client, compliance, asset):
    asset["root"].image.storage.delete(asset["root"].image.name)
    client.force_login(compliance)
    response = client.get(reverse("compliance:audit_pack", args=["acme", asset["child"].pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    assert [m["path"] for m in manifest["missing"]] == [f"versions/01-variant-{asset['root'].pk}.png"]
    assert f"versions/01-variant-{asset['root'].pk}.png" not in archive.namelist()
