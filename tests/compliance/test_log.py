"""The compliance log as people read it: sentences with the person's name and the subject's label and
link, readable details, pickers for event type, person and subject, exports with a sentence, and the
workspace-scoped trail URLs with the old ones redirecting."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.compliance.exports import EXPORT_COLUMNS, AuditFilter, iter_export
from approvals.compliance.forms import event_type_choices
from approvals.publishing.models import Publication
from approvals.reviews.models import Comment, Decision, Review, ReviewStage
from studio.core.audit import audit_append
from studio.core.events import registry
from studio.core.models import AuditEvent
from studio.core.subjects import subjects
from studio.safety.models import SafetyAssessment
from tests import factories as f

pytestmark = pytest.mark.django_db

LOG = reverse("compliance:log")


@pytest.fixture
def ann(workspace):
    user = f.UserFactory(username="ann", first_name="Ann", last_name="Lee")
    f.MembershipFactory(user=user, workspace=workspace, role=f.core_models.Role.BRAND_REVIEWER)
    return user


@pytest.fixture
def story(workspace, marketer, ann, ad_format):
    """One image of the draft “Spring sale” through review, decision, comment and publication, each
    recorded under its registered machine name with the data its builder writes."""
    draft = f.PromptDraftFactory(campaign=ad_format.campaign, workspace=workspace, title="Spring sale")
    job = f.GenerationJobFactory(
        draft_version=f.DraftVersionFactory(draft=draft, created_by=marketer),
        campaign=ad_format.campaign,
        workspace=workspace,
        created_by=marketer,
    )
    variant = f.VariantFactory(job=job, workspace=workspace, draft=draft, created_by=marketer)
    review = Review.objects.create(
        workspace=workspace,
        variant=variant,
        variant_sha256=variant.sha256,
        safety_verdict="allow",
        submitted_by=marketer,
    )
    stage = ReviewStage.objects.create(review=review, kind="brand", order=1, status="approved")
    decision = Decision.objects.create(stage=stage, reviewer=ann, outcome="approve", variant_sha256=variant.sha256)
    comment = Comment.objects.create(variant=variant, author=ann, text="Logo too small", x=0.1, y=0.1, w=0.2, h=0.2)
    publication = Publication.objects.create(
        workspace=workspace,
        variant=variant,
        review=review,
        target_format=ad_format,
        width=1200,
        height=628,
        file="published/p.png",
        sha256="0" * 64,
        source_sha256=variant.sha256,
        published_by=marketer,
    )
    check = SafetyAssessment.objects.create(
        workspace=workspace, job=job, variant=variant, stage="image", screener="local", verdict="allow"
    )
    append = audit_append
    append(workspace=workspace, actor=marketer, action="studio.draft.created", subject=draft, data={"title": "x"})
    append(
        workspace=workspace,
        actor=marketer,
        action="studio.job.created",
        subject=job,
        data={"operation": "generate", "planned": "1024x1024", "deployment": "offline"},
    )
    append(workspace=workspace, actor=None, action="studio.variant.created", subject=variant, data={"size": "64x48"})
    append(
        workspace=workspace,
        actor=None,
        action="approvals.safety.screened",
        subject_type="studio.variant",
        subject_id=variant.pk,
        data={"stage": "image", "message": "Nothing found."},
    )
    append(
        workspace=workspace,
        actor=marketer,
        action="approvals.review.submitted",
        subject=review,
        data={"stages": ["brand"], "variant": variant.pk},
    )
    append(
        workspace=workspace,
        actor=ann,
        action="approvals.stage.approved",
        subject=decision,
        data={"stage": "brand", "review": review.pk, "variant": variant.pk, "note": ""},
    )
    append(
        workspace=workspace, actor=ann, action="approvals.comment.added", subject=comment, data={"variant": variant.pk}
    )
    append(
        workspace=workspace,
        actor=marketer,
        action="approvals.publication.created",
        subject=publication,
        data={"format": "LinkedIn ad", "size": "1200x628", "variant": variant.pk},
    )
    append(workspace=workspace, actor=None, action="approvals.safety.verdict", subject=check, data={"route": "allow"})
    return {"variant": variant, "review": review, "decision": decision, "publication": publication, "job": job}


def _entries(client, **params):
    response = client.get(LOG, params)
    assert response.status_code == 200
    return response, {e.event.action: e for e in response.context["entries"]}


def test_the_log_reads_as_sentences_with_names_labels_and_links(client, compliance, story):
    client.force_login(compliance)
    response, entries = _entries(client)
    variant, review = story["variant"], story["review"]
    approved = entries["approvals.stage.approved"]
    assert approved.sentence == f"Ann Lee approved the brand review of “Spring sale” variant #{variant.pk}"
    assert approved.label == "Approved"
    assert approved.actor == "Ann Lee"
    assert approved.subject.url == reverse("approvals:review_detail", args=["acme", review.pk])
    assert entries["studio.variant.created"].sentence.startswith("The system got a new image, “Spring sale” variant")
    assert entries["studio.variant.created"].subject.url == reverse("compliance:trail", args=["acme", variant.pk])
    assert entries["studio.job.created"].subject.label == f"generation #{story['job'].pk} of “Spring sale”"
    assert entries["studio.draft.created"].subject.label == "“Spring sale”"
    assert entries["approvals.publication.created"].subject.url == reverse(
        "publishing:publication_detail", args=["acme", story["publication"].pk]
    )
    body = response.content.decode()
    assert "Ann Lee approved the brand review of “Spring sale” variant" in body
    assert f'href="{approved.subject.url}"' in body
    assert "{&#x27;" not in body  # no Python dict anywhere


def test_details_are_a_readable_list(client, compliance, story):
    client.force_login(compliance)
    _, entries = _entries(client)
    assert entries["approvals.review.submitted"].details == [("Stages", "brand"), ("Variant", str(story["variant"].pk))]


def test_an_action_nobody_registers_still_shows_by_its_machine_name(client, compliance, workspace):
    audit_append(workspace=workspace, actor=compliance, action="approvals.review.approved", data={"note": "old"})
    client.force_login(compliance)
    response, entries = _entries(client)
    old = entries["approvals.review.approved"]
    assert (old.known, old.label) == (False, "approvals.review.approved")
    assert old.sentence == "cora: approvals.review.approved"
    assert "no longer recorded" in response.content.decode()


def test_a_subject_that_is_gone_is_named_by_its_kind(client, compliance, workspace):
    audit_append(
        workspace=workspace,
        actor=None,
        action="studio.variant.created",
        subject_type="studio.variant",
        subject_id=987654,
    )
    audit_append(
        workspace=workspace, actor=None, action="studio.variant.created", subject_type="studio.variant", subject_id="x"
    )
    client.force_login(compliance)
    labels = [e.subject.label for e in client.get(LOG).context["entries"]]
    assert labels == ["variant #x", "variant #987654"]


def test_query_count_is_the_same_for_one_event_and_a_page_of_every_kind(client, compliance, workspace, story):
    quiet = f.WorkspaceFactory(slug="quiet")
    f.MembershipFactory(user=compliance, workspace=quiet, role=f.core_models.Role.COMPLIANCE)
    audit_append(workspace=quiet, actor=None, action="studio.test.lonely")
    client.force_login(compliance)

    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LOG, params).status_code == 200
        return len(ctx.captured_queries)

    one_event = queries(workspace="quiet")
    every_kind = queries(workspace="acme")  # drafts, jobs, images, reviews, decisions, comments...
    for i in range(60):
        audit_append(
            workspace=workspace,
            actor=compliance,
            action="approvals.comment.resolved",
            subject_type="approvals.comment",
            subject_id=i,
        )
    assert one_event == every_kind == queries(workspace="acme")


def test_event_type_picker_lists_the_registry_by_label(client, compliance, story):
    client.force_login(compliance)
    body = client.get(LOG).content.decode()
    assert '<option value="approvals.stage.approved">Approved</option>' in body
    assert '<option value="approvals.review.">Any: reviews</option>' in body
    flat = [value for _group, options in event_type_choices()[1:] for value, _label in options]
    assert set(registry.choices()) <= {(v, label) for _g, opts in event_type_choices()[1:] for v, label in opts}
    assert "compliance.log.exported" in flat
    _, entries = _entries(client, action="approvals.stage.approved")
    assert list(entries) == ["approvals.stage.approved"]


def test_person_picker_offers_the_members_and_filters_exactly(client, compliance, ann, marketer, story):
    client.force_login(compliance)
    response = client.get(LOG)
    assert dict(response.context["form"].fields["actor"].choices)["ann"] == "Ann Lee (ann)"
    _, entries = _entries(client, actor="ann")
    assert set(entries) == {"approvals.stage.approved", "approvals.comment.added"}
    _, entries = _entries(client, actor="system")
    assert set(entries) == {"studio.variant.created", "approvals.safety.screened", "approvals.safety.verdict"}


def test_subject_picker_filters_by_kind_and_number(client, compliance, story):
    client.force_login(compliance)
    body = client.get(LOG).content.decode()
    assert '<option value="studio.variant">Image</option>' in body
    _, entries = _entries(client, subject_type="approvals.review", subject_id=str(story["review"].pk))
    assert list(entries) == ["approvals.review.submitted"]
    assert {
        "studio.variant",
        "studio.generationjob",
        "studio.promptdraft",
        "studio.deployment",
        "approvals.review",
        "approvals.reviewstage",
        "approvals.decision",
        "approvals.comment",
        "approvals.publication",
        "approvals.safetyassessment",
    } <= set(dict(subjects.choices()))


def test_exports_keep_machine_names_and_gain_the_sentence(workspace, story, tmp_path):
    rows = list(csv.DictReader(io.StringIO("".join(iter_export(AuditFilter(workspace_ids=(workspace.pk,)), "csv")))))
    assert EXPORT_COLUMNS[-1] == "sentence"
    approved = next(r for r in rows if r["action"] == "approvals.stage.approved")
    assert approved["subject_type"] == "approvals.decision"
    assert approved["sentence"].startswith("Ann Lee approved the brand review of “Spring sale” variant #")
    as_json = json.loads("".join(iter_export(AuditFilter(workspace_ids=(workspace.pk,)), "json")))
    assert [r["sentence"] for r in as_json] == [r["sentence"] for r in rows]
    target = tmp_path / "log.json"
    call_command("audit_export", "--workspace", "acme", "--format", "json", "--output", str(target))
    assert all(row["sentence"] for row in json.loads(target.read_text()))


def test_exporting_and_audit_packs_are_recorded_through_the_registry(client, compliance, story):
    client.force_login(compliance)
    b"".join(client.get(reverse("compliance:export"), {"format": "json"}).streaming_content)
    b"".join(client.get(reverse("compliance:audit_pack", args=["acme", story["variant"].pk])).streaming_content)
    _, entries = _entries(client)
    assert entries["compliance.log.exported"].sentence == "cora downloaded the audit log of Acme as json"
    assert entries["compliance.audit_pack.downloaded"].sentence.startswith(
        f"cora downloaded the audit pack of “Spring sale” variant #{story['variant'].pk} ("
    )
    exported = AuditEvent.objects.get(action="compliance.log.exported")
    assert (exported.subject_type, exported.data) == (
        "studio.workspace",
        {"format": "json", "filters": {"format": "json"}},
    )


# --- URLs -----------------------------------------------------------------------------------------------------


def test_trail_urls_are_workspace_scoped_and_the_old_ones_redirect(client, compliance, marketer, story):
    pk = story["variant"].pk
    assert reverse("compliance:trail", args=["acme", pk]) == f"/w/acme/compliance/variants/{pk}/"
    assert reverse("compliance:log") == "/compliance/"
    client.force_login(compliance)
    for old, name in (
        (f"/compliance/variants/{pk}/", "compliance:trail"),
        (f"/compliance/variants/{pk}/trail.json", "compliance:trail_json"),
        (f"/compliance/variants/{pk}/audit-pack.zip", "compliance:audit_pack"),
    ):
        response = client.get(old + "?x=1")
        assert response.status_code == 301
        assert response["Location"] == reverse(name, args=["acme", pk]) + "?x=1"
    outsider = f.UserFactory(username="olga")
    f.MembershipFactory(user=outsider, workspace=f.WorkspaceFactory(slug="other"), role=f.core_models.Role.COMPLIANCE)
    client.force_login(outsider)
    assert client.get(f"/compliance/variants/{pk}/").status_code == 404
    assert client.get(f"/w/other/compliance/variants/{pk}/").status_code == 404
    assert client.get(f"/w/acme/compliance/variants/{pk}/").status_code == 404
