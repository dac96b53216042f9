"""The database before the layered apps, filled through the historical models.

Used by ``test_move_between_apps``: one of everything the old schema held (studio 0002, approvals 0003),
and an audit chain hashed with ``studio.core.audit``'s own hashing, as an old installation would have it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from studio.core.audit import GENESIS_HASH, event_hash

# (label before, model) -> label after. Written out here rather than imported from the migration, so the
# test pins what the move promised.
MOVED = {
    ("studio", "workspace"): "core",
    ("studio", "membership"): "core",
    ("approvals", "notification"): "core",
    ("approvals", "auditchain"): "core",
    ("approvals", "auditevent"): "core",
    ("approvals", "safetyassessment"): "safety",
    ("approvals", "safetyrule"): "safety",
    ("approvals", "publication"): "publishing",
}

T0 = datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=UTC)
SHA_A, SHA_B, SHA_C, SHA_PUB = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


def content_types_as_before(apps) -> dict[tuple[str, str], int]:
    """Give the moved models the content types an old database has (old labels, permissions attached).

    The test database was built by today's migrations, so its content types already carry the new
    labels; the move's data migration has to be shown turning old ones into new ones, keeping their ids."""
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    ids = {}
    for (old_label, model), new_label in MOVED.items():
        ct = content_type.objects.filter(app_label=new_label, model=model).first()
        if ct is None:
            ct = content_type.objects.create(app_label=old_label, model=model)
        else:
            ct.app_label = old_label
            ct.save(update_fields=["app_label"])
        permission.objects.get_or_create(
            content_type=ct, codename=f"view_{model}", defaults={"name": f"Can view {model}"}
        )
        ids[(old_label, model)] = ct.pk
    return ids


class Chain:
    """Appends to a workspace's chain with the historical models, hashing as ``studio.core.audit`` does."""

    def __init__(self, apps, workspace) -> None:
        self.model = apps.get_model("approvals", "AuditEvent")
        self.head = apps.get_model("approvals", "AuditChain").objects.create(
            workspace=workspace, last_seq=0, last_hash=GENESIS_HASH
        )
        self.workspace = workspace
        self.events: list[Any] = []

    def append(self, action: str, *, actor, subject_type: str, subject_id: int, data: dict) -> Any:
        event = self.model(
            workspace=self.workspace,
            seq=self.head.last_seq + 1,
            action=action,
            actor=actor,
            actor_label=actor.username if actor else "system",
            subject_type=subject_type,
            subject_id=str(subject_id),
            data=data,
            ip="203.0.113.7" if actor else None,
            user_agent="Mozilla/5.0 (migration test)" if actor else "",
            created_at=T0 + timedelta(minutes=len(self.events)),
            prev_hash=self.head.last_hash,
        )
        event.hash = event_hash(event)
        event.save(force_insert=True)
        self.head.last_seq, self.head.last_hash = event.seq, event.hash
        self.head.save(update_fields=["last_seq", "last_hash"])
        self.events.append(event)
        return event


def build_old_world(apps) -> dict[str, Any]:
    """One of everything the old schema held, written through the historical models. Returns the ids."""
    user = apps.get_model("auth", "User")
    get = apps.get_model
    mia = user.objects.create(username="mia", first_name="Mia", password="!")
    rob = user.objects.create(username="rob", password="!")
    cora = user.objects.create(username="cora", password="!")

    ws = get("studio", "Workspace").objects.create(
        name="Acme",
        slug="acme",
        sector="financial",
        regulated=True,
        style_guide="Flat colours.",
        default_locales=["en", "ja"],
        safety_screeners=["azure"],
        blocklist_terms=["guaranteed"],
        safety_policy={"Violence": {"2": "review", "4": "block"}},
        review_sla_hours=24,
    )
    membership = get("studio", "Membership")
    memberships = [
        membership.objects.create(user=mia, workspace=ws, role="marketer"),
        membership.objects.create(user=rob, workspace=ws, role="brand_reviewer"),
        membership.objects.create(user=cora, workspace=ws, role="compliance"),
    ]
    campaign = get("studio", "Campaign").objects.create(
        workspace=ws, name="Spring launch", slug="spring", locales=["en"], budget=Decimal("250.000000")
    )
    fmt = get("studio", "CampaignFormat").objects.create(
        campaign=campaign, name="LinkedIn ad", channel="linkedin", width=1200, height=628
    )
    draft = get("studio", "PromptDraft").objects.create(
        workspace=ws, campaign=campaign, title="Frühlingsstart — 春", created_by=mia
    )
    version = get("studio", "DraftVersion").objects.create(
        draft=draft, number=1, text="A kite over {city}", variables={"city": "Leeds"}, created_by=mia
    )
    profile = get("studio", "CapabilityProfile").objects.create(
        name="gpt-image-2", qualities=["low", "medium", "high"], output_formats=["png"], backgrounds=["auto"]
    )
    deployment = get("studio", "Deployment").objects.create(
        workspace=ws, name="offline", provider="offline", model="offline-renderer", profile=profile, is_default=True
    )
    job_model, variant_model = get("studio", "GenerationJob"), get("studio", "Variant")
    sizes = {"target_width": 1200, "target_height": 628, "planned_width": 1536, "planned_height": 800}
    job = job_model.objects.create(
        workspace=ws,
        campaign=campaign,
        created_by=mia,
        deployment=deployment,
        draft_version=version,
        target_format=fmt,
        prompt="Flat colours. A kite over Leeds",
        params={"size": "1536x800", "quality": "medium"},
        n=2,
        status="succeeded",
        progress=100,
        estimated_cost=Decimal("0.042000"),
        actual_cost=Decimal("0.040000"),
        **sizes,
    )
    common = {"workspace": ws, "draft": draft, "created_by": mia, "width": 1536, "height": 800, "format": "png"}
    v1 = variant_model.objects.create(
        job=job, index=0, image="variants/2026/11/a.png", sha256=SHA_A, status="published", **common
    )
    v2 = variant_model.objects.create(
        job=job, index=1, image="variants/2026/11/b.png", sha256=SHA_B, status="ready", **common
    )
    v1.safety_verdict = v2.safety_verdict = "review"
    v1.safety_severity = 2
    v1.save(update_fields=["safety_verdict", "safety_severity"])
    v2.save(update_fields=["safety_verdict"])
    edit = job_model.objects.create(
        workspace=ws,
        campaign=campaign,
        created_by=mia,
        deployment=deployment,
        operation="edit",
        base_variant=v1,
        rerun_of=None,
        instruction="Make the kite red",
        prompt="Flat colours. A red kite over Leeds",
        params={"size": "1536x800"},
        status="succeeded",
        **sizes,
    )
    edit.reference_variants.add(v2)
    v3 = variant_model.objects.create(
        job=edit, index=0, operation="edit", image="variants/2026/11/c.png", sha256=SHA_C, status="in_review", **common
    )
    v3.parents.add(v1)

    review_model, stage_model = get("approvals", "Review"), get("approvals", "ReviewStage")
    review = review_model.objects.create(
        workspace=ws,
        variant=v1,
        submitted_by=mia,
        variant_sha256=SHA_A,
        status="approved",
        safety_verdict="review",
        closed_at=T0 + timedelta(hours=2),
    )
    brand = stage_model.objects.create(review=review, kind="brand", order=1, status="approved", decided_at=T0)
    brand.assignees.add(rob)
    compliance = stage_model.objects.create(review=review, kind="compliance", order=2, status="approved", rule="all")
    compliance.assignees.add(cora)
    decision_model = get("approvals", "Decision")
    approve = decision_model.objects.create(stage=brand, reviewer=rob, outcome="approve", variant_sha256=SHA_A)
    with_changes = decision_model.objects.create(
        stage=compliance, reviewer=cora, outcome="approve_with_changes", note="Add the disclaimer", variant_sha256=SHA_A
    )
    open_review = review_model.objects.create(
        workspace=ws, variant=v3, submitted_by=mia, variant_sha256=SHA_C, safety_verdict="allow"
    )
    open_stage = stage_model.objects.create(
        review=open_review, kind="brand", order=1, status="pending", due_at=T0 + timedelta(days=1)
    )
    open_stage.assignees.add(rob)
    comment_model = get("approvals", "Comment")
    comment = comment_model.objects.create(variant=v1, author=rob, text="Logo too small", x=0.1, y=0.2, w=0.3, h=0.25)
    reply = comment_model.objects.create(variant=v1, author=mia, parent=comment, text="Fixed", resolved=True)
    policy = get("approvals", "StagePolicy").objects.create(workspace=ws, kind="compliance", rule="all")
    policy.assignees.add(cora)

    assessment_model = get("approvals", "SafetyAssessment")
    prompt_check = assessment_model.objects.create(
        workspace=ws, job=job, stage="prompt", screener="local", verdict="allow", screened_text=job.prompt
    )
    image_check = assessment_model.objects.create(
        workspace=ws,
        variant=v1,
        stage="image",
        screener="azure",
        verdict="review",
        categories=[{"category": "Violence", "severity": 2, "verdict": "review"}],
        decided_by="Violence",
    )
    rule = get("approvals", "SafetyRule").objects.create(
        sector="financial", category="Promises", pattern="guaranteed returns", verdict="block", advice="Say 'may'."
    )
    publication = get("approvals", "Publication").objects.create(
        workspace=ws,
        variant=v1,
        review=review,
        target_format=fmt,
        published_by=mia,
        width=1200,
        height=628,
        file="published/2026/11/a-1200x628.png",
        sha256=SHA_PUB,
        source_sha256=SHA_A,
        rendition_notes=["cropped 1536x800 to 1200x628"],
    )
    notification = get("approvals", "Notification")
    notices = [
        notification.objects.create(user=rob, workspace=ws, kind="review_requested", text="Brand review requested"),
        notification.objects.create(
            user=mia, workspace=ws, kind="approved", text="Approved", url="/v/1/", read_at=T0 + timedelta(hours=3)
        ),
    ]

    chain = Chain(apps, ws)
    chain.append("studio.draft.created", actor=mia, subject_type="studio.promptdraft", subject_id=draft.pk, data={})
    chain.append(
        "studio.job.created",
        actor=mia,
        subject_type="studio.generationjob",
        subject_id=job.pk,
        data={"operation": "generate", "params": job.params, "estimated_cost": "0.042000", "plan_notes": []},
    )
    chain.append(
        "approvals.safety.screened",
        actor=None,
        subject_type="studio.variant",
        subject_id=v1.pk,
        data={"verdict": "review", "categories": image_check.categories, "severity": 2, "ratio": 0.5},
    )
    chain.append(
        "approvals.review.submitted",
        actor=mia,
        subject_type="approvals.review",
        subject_id=review.pk,
        data={"variant": v1.pk, "sha256": SHA_A, "stages": ["brand", "compliance"], "regulated": True},
    )
    chain.append(
        "approvals.stage.approved",
        actor=rob,
        subject_type="approvals.decision",
        subject_id=approve.pk,
        data={"review": review.pk, "stage": "brand", "outcome": "approve", "note": ""},
    )
    chain.append(
        "approvals.comment.added",
        actor=rob,
        subject_type="approvals.comment",
        subject_id=comment.pk,
        data={"variant": v1.pk, "box": [0.1, 0.2, 0.3, 0.25], "text": "Logo too small — 小さい"},
    )
    chain.append(
        "approvals.stage.approved_with_changes",
        actor=cora,
        subject_type="approvals.decision",
        subject_id=with_changes.pk,
        data={"review": review.pk, "stage": "compliance", "note": "Add the disclaimer", "comment_ids": [comment.pk]},
    )
    chain.append(
        "approvals.publication.created",
        actor=mia,
        subject_type="approvals.publication",
        subject_id=publication.pk,
        data={"variant": v1.pk, "review": review.pk, "format": "LinkedIn ad", "size": "1200x628"},
    )
    chain.append(
        "studio.workspace.settings_changed",
        actor=mia,
        subject_type="studio.workspace",
        subject_id=ws.pk,
        data={"changes": {"review_sla_hours": [48, 24]}},
    )

    return {
        "users": (mia.pk, rob.pk, cora.pk),
        "workspace": ws.pk,
        "memberships": [m.pk for m in memberships],
        "campaign": campaign.pk,
        "format": fmt.pk,
        "draft": draft.pk,
        "version": version.pk,
        "profile": profile.pk,
        "deployment": deployment.pk,
        "jobs": (job.pk, edit.pk),
        "variants": (v1.pk, v2.pk, v3.pk),
        "review": review.pk,
        "open_review": open_review.pk,
        "stages": (brand.pk, compliance.pk, open_stage.pk),
        "decisions": (approve.pk, with_changes.pk),
        "comments": (comment.pk, reply.pk),
        "policy": policy.pk,
        "assessments": (prompt_check.pk, image_check.pk),
        "rule": rule.pk,
        "publication": publication.pk,
        "notifications": [n.pk for n in notices],
        "events": [(e.pk, e.seq, e.action, e.subject_type, e.hash) for e in chain.events],
        "head": (chain.head.last_seq, chain.head.last_hash),
    }
