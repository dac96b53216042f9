"""Upgrading a database from before the layered apps loses nothing.

The move to core / safety / publishing is state-only (``SeparateDatabaseAndState``, every ``db_table``
kept), so this test takes a real database back to the schema before it (studio 0002, approvals 0003,
no core/safety/publishing), fills it through the HISTORICAL models with one of everything and an audit
chain hashed exactly as the chain hashes it, migrates forward to the latest, and then reads every object
back through today's models: the data, the relations, the chain (``audit_verify``, the append-only
trigger on PostgreSQL) and the relabelled content types.

It runs on PostgreSQL in `make test`'s second run. On its own, PostgreSQL or SQLite:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/imprimatur_mig IMPRIMATUR_REAL_SERVICES=1 \\
        .venv/bin/pytest -m integration tests/migrations --create-db
    IMPRIMATUR_REAL_SERVICES=1 .venv/bin/pytest -m integration tests/migrations   # SQLite, in memory

It needs no Redis and no worker.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from approvals.publishing.models import Publication
from approvals.reviews.models import Comment, Decision, Review, ReviewStage, StagePolicy
from studio.core.audit import audit_append, audit_verify, event_hash, subject_kind
from studio.core.models import AuditChain, AuditEvent, Membership, Notification, Workspace
from studio.generation.models import (
    Campaign,
    CampaignFormat,
    CapabilityProfile,
    Deployment,
    DraftVersion,
    GenerationJob,
    PromptDraft,
    Variant,
)
from studio.safety.models import SafetyAssessment, SafetyRule
from tests.migrations.old_world import MOVED, SHA_A, SHA_PUB, T0, build_old_world, content_types_as_before

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The leaves before the move, and the apps the move created.
PREVIOUS = [("studio", "0002_variant_safety_severity"), ("approvals", "0003_queue_indexes")]
BORN_IN_THE_MOVE = ("core", "safety", "publishing")


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    # A fresh executor each time: one that has migrated keeps a stale record of what is applied.
    MigrationExecutor(connection).migrate(targets)


@pytest.fixture
def old_apps(transactional_db):
    """The historical app registry, with the database migrated back to before the move.

    Whatever happens in the test, the database goes forward to the latest migrations again before
    pytest-django flushes it, so the tests that run next find the schema they expect."""
    _migrate([*PREVIOUS, *((app, None) for app in BORN_IN_THE_MOVE)])
    graph = MigrationExecutor(connection).loader.graph
    # auth and contenttypes stay at their latest (the move does not touch them), so their state is that.
    nodes = [*PREVIOUS, *graph.leaf_nodes("auth"), *graph.leaf_nodes("contenttypes")]
    try:
        yield MigrationExecutor(connection).loader.project_state(nodes).apps
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        ContentType.objects.clear_cache()


def _assert_trigger_refuses_changes(event_pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'approvals_auditevent'::regclass AND NOT tgisinternal"
        )
        assert [row[0] for row in cursor.fetchall()] == ["approvals_auditevent_append_only"]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event_pk).update(actor_label="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event_pk).delete()


def test_upgrade_from_before_the_move_keeps_every_object_and_the_chain(old_apps):
    ct_ids = content_types_as_before(old_apps)
    ids = build_old_world(old_apps)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    # The audit chain: intact, through the service and the command, and still append-only.
    ws = Workspace.objects.get(pk=ids["workspace"])
    result = audit_verify(workspace=ws)
    assert (result.ok, result.verified) == (True, len(ids["events"])), result.message
    assert audit_verify().ok
    out = StringIO()
    call_command("audit_verify", "--workspace", "acme", stdout=out)
    assert out.getvalue().strip() == f"verified {len(ids['events'])} events"
    assert (ws.audit_chain.last_seq, ws.audit_chain.last_hash) == ids["head"]
    events = list(AuditEvent.objects.filter(workspace=ws).order_by("seq"))
    assert [(e.pk, e.seq, e.action, e.subject_type, e.hash) for e in events] == ids["events"]
    assert all(event_hash(e) == e.hash for e in events)
    assert events[0].actor.username == "mia"
    assert events[2].actor is None
    assert events[2].actor_label == "system"
    assert events[3].ip == "203.0.113.7"
    assert events[5].data["text"] == "Logo too small — 小さい"
    if connection.vendor == "postgresql":
        _assert_trigger_refuses_changes(events[0].pk)
    # New events continue the old chain.
    with transaction.atomic():
        appended = audit_append(workspace=ws, actor=None, action="studio.test.after_upgrade", subject=ws)
    assert (appended.seq, appended.prev_hash) == (len(events) + 1, ids["head"][1])
    assert audit_verify(workspace=ws).verified == len(events) + 1

    # Content types: relabelled in place, so their ids, and the permissions on them, are kept.
    for (old_label, model), new_label in MOVED.items():
        ct = ContentType.objects.get(pk=ct_ids[(old_label, model)])
        assert (ct.app_label, ct.model) == (new_label, model)
        assert not ContentType.objects.filter(app_label=old_label, model=model).exists()
        assert Permission.objects.filter(content_type=ct, codename=f"view_{model}").exists()
    for model in (Workspace, Membership, Notification, AuditChain, AuditEvent, SafetyAssessment, SafetyRule):
        assert ContentType.objects.get_for_model(model).pk in ct_ids.values()
    assert ContentType.objects.get_for_model(Publication).pk == ct_ids[("approvals", "publication")]

    # Core: the workspace and its people.
    mia, rob, cora = (User.objects.get(pk=pk) for pk in ids["users"])
    assert (ws.name, ws.slug, ws.sector, ws.regulated, ws.review_sla_hours) == ("Acme", "acme", "financial", True, 24)
    assert (ws.default_locales, ws.safety_screeners, ws.blocklist_terms) == (["en", "ja"], ["azure"], ["guaranteed"])
    assert ws.safety_policy == {"Violence": {"2": "review", "4": "block"}}
    assert sorted(Membership.objects.filter(workspace=ws).values_list("pk", "user__username", "role")) == sorted(
        zip(ids["memberships"], ["mia", "rob", "cora"], ["marketer", "brand_reviewer", "compliance"], strict=True)
    )
    notices = {n.pk: n for n in Notification.objects.filter(workspace=ws)}
    assert set(notices) == set(ids["notifications"])
    requested, approved = (notices[pk] for pk in ids["notifications"])
    assert (requested.user, requested.kind, requested.read_at) == (rob, "review_requested", None)
    assert (approved.user, approved.url, approved.read_at) == (mia, "/v/1/", T0 + timedelta(hours=3))

    # Studio: campaign, format, draft, deployment, jobs, variants and their lineage.
    campaign = Campaign.objects.get(pk=ids["campaign"])
    assert (campaign.workspace, campaign.slug, campaign.budget) == (ws, "spring", Decimal("250"))
    fmt = CampaignFormat.objects.get(pk=ids["format"])
    assert (fmt.campaign, fmt.name, fmt.width, fmt.height) == (campaign, "LinkedIn ad", 1200, 628)
    draft = PromptDraft.objects.get(pk=ids["draft"])
    assert (draft.workspace, draft.campaign, draft.title, draft.created_by) == (
        ws,
        campaign,
        "Frühlingsstart — 春",
        mia,
    )
    version = DraftVersion.objects.get(pk=ids["version"])
    assert (version.draft, version.number, version.variables) == (draft, 1, {"city": "Leeds"})
    deployment = Deployment.objects.get(pk=ids["deployment"])
    profile = CapabilityProfile.objects.get(pk=ids["profile"])
    assert (deployment.workspace, deployment.profile, deployment.is_default) == (ws, profile, True)
    job, edit = (GenerationJob.objects.get(pk=pk) for pk in ids["jobs"])
    assert (job.workspace, job.campaign, job.deployment, job.draft_version, job.target_format) == (
        ws,
        campaign,
        deployment,
        version,
        fmt,
    )
    assert (job.n, job.status, job.actual_cost, job.params) == (
        2,
        "succeeded",
        Decimal("0.04"),
        {"size": "1536x800", "quality": "medium"},
    )
    v1, v2, v3 = (Variant.objects.get(pk=pk) for pk in ids["variants"])
    assert [v.pk for v in job.variants.order_by("index")] == [v1.pk, v2.pk]
    assert (v1.workspace, v1.draft, v1.sha256, v1.status, v1.safety_verdict, v1.safety_severity) == (
        ws,
        draft,
        SHA_A,
        "published",
        "review",
        2,
    )
    assert (edit.base_variant, list(edit.reference_variants.all())) == (v1, [v2])
    assert (v3.job, list(v3.parents.all())) == (edit, [v1])

    # Approvals: reviews, stages, decisions, comments, policies.
    review = Review.objects.get(pk=ids["review"])
    assert (review.workspace, review.variant, review.submitted_by, review.status) == (ws, v1, mia, "approved")
    brand, compliance, open_stage = (ReviewStage.objects.get(pk=pk) for pk in ids["stages"])
    assert [s.pk for s in review.stages.order_by("order")] == [brand.pk, compliance.pk]
    assert (list(brand.assignees.all()), list(compliance.assignees.all())) == ([rob], [cora])
    approve, with_changes = (Decision.objects.get(pk=pk) for pk in ids["decisions"])
    assert (approve.stage, approve.reviewer, approve.outcome) == (brand, rob, "approve")
    assert (with_changes.stage, with_changes.note) == (compliance, "Add the disclaimer")
    open_review = Review.objects.get(pk=ids["open_review"])
    assert (open_review.variant, open_review.status, open_stage.review, open_stage.status) == (
        v3,
        "open",
        open_review,
        "pending",
    )
    comment, reply = (Comment.objects.get(pk=pk) for pk in ids["comments"])
    assert (comment.variant, comment.author, (comment.x, comment.y, comment.w, comment.h)) == (
        v1,
        rob,
        (0.1, 0.2, 0.3, 0.25),
    )
    assert (reply.parent, reply.resolved, list(comment.replies.all())) == (comment, True, [reply])
    policy = StagePolicy.objects.get(pk=ids["policy"])
    assert (policy.workspace, policy.kind, list(policy.assignees.all())) == (ws, "compliance", [cora])

    # Safety and publishing: the models that changed app, read through their new homes.
    prompt_check, image_check = (SafetyAssessment.objects.get(pk=pk) for pk in ids["assessments"])
    assert (prompt_check.workspace, prompt_check.job, prompt_check.variant, prompt_check.stage) == (
        ws,
        job,
        None,
        "prompt",
    )
    assert (image_check.variant, image_check.screener, image_check.verdict, image_check.categories) == (
        v1,
        "azure",
        "review",
        [{"category": "Violence", "severity": 2, "verdict": "review"}],
    )
    rule = SafetyRule.objects.get(pk=ids["rule"])
    assert (rule.sector, rule.pattern, rule.verdict) == ("financial", "guaranteed returns", "block")
    publication = Publication.objects.get(pk=ids["publication"])
    assert (publication.workspace, publication.variant, publication.review, publication.target_format) == (
        ws,
        v1,
        review,
        fmt,
    )
    assert (publication.published_by, publication.file.name, publication.sha256, publication.source_sha256) == (
        mia,
        "published/2026/11/a-1200x628.png",
        SHA_PUB,
        SHA_A,
    )

    # Trails still find the old events: a moved object's kind is the one stored before the move.
    by_subject = {(e.subject_type, e.subject_id) for e in events}
    for obj in (ws, draft, job, v1, review, approve, with_changes, comment, publication):
        assert (subject_kind(obj), str(obj.pk)) in by_subject, obj
    assert subject_kind(image_check) == "approvals.safetyassessment"
    assert subject_kind(requested) == "approvals.notification"
