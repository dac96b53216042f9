"""Studio reads. Every lookup takes the user and answers 404 for missing and forbidden alike."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import (
    Campaign,
    Deployment,
    GenerationJob,
    PromptDraft,
    Variant,
    Workspace,
)


def campaigns_for(*, workspace: Workspace) -> QuerySet[Campaign]:
    return workspace.campaigns.prefetch_related("formats").order_by("name")


def campaign_get(*, workspace: Workspace, slug: str) -> Campaign:
    return get_object_or_404(Campaign.objects.prefetch_related("formats"), workspace=workspace, slug=slug)


def drafts_for(*, campaign: Campaign) -> QuerySet[PromptDraft]:
    return campaign.drafts.select_related("created_by").order_by("-updated_at")


def draft_get(*, workspace: Workspace, pk: int) -> PromptDraft:
    return get_object_or_404(
        PromptDraft.objects.select_related("campaign", "workspace", "created_by"), workspace=workspace, pk=pk
    )


def deployments_for(*, workspace: Workspace) -> QuerySet[Deployment]:
    return workspace.deployments.filter(active=True).select_related("profile").order_by("-is_default", "name")


def jobs_for_draft(*, draft: PromptDraft, limit: int = 20) -> list[GenerationJob]:
    variants = Variant.objects.order_by("index")
    return list(
        GenerationJob.objects.filter(draft_version__draft=draft)
        .select_related("deployment", "draft_version", "base_variant", "target_format")
        .prefetch_related(Prefetch("variants", queryset=variants))
        .order_by("-created_at")[:limit]
    )


def job_get(*, workspace: Workspace, pk: int) -> GenerationJob:
    return get_object_or_404(
        GenerationJob.objects.select_related("deployment", "draft_version__draft", "target_format").prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("index"))
        ),
        workspace=workspace,
        pk=pk,
    )


def variant_get(*, workspace: Workspace, pk: int) -> Variant:
    try:
        return (
            Variant.objects.select_related(
                "job__deployment__profile",
                "job__draft_version",
                "job__target_format",
                "draft__campaign",
                "created_by",
                "workspace",
            )
            .prefetch_related("parents", "children")
            .get(workspace=workspace, pk=pk)
        )
    except Variant.DoesNotExist as exc:
        raise Http404("No such variant") from exc


def variant_lineage(*, variant: Variant, depth: int = 20) -> list[Variant]:
    """Ancestors from the root down to ``variant`` following the first parent (the base image)."""
    chain = [variant]
    current = variant
    for _ in range(depth):
        parent = current.parents.order_by("pk").first()
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return list(reversed(chain))


def draft_tree(*, draft: PromptDraft) -> list[dict]:
    """The version tree of a draft as nested dicts ``{"variant": v, "children": [...]}``, built from two
    queries (variants with their job, and the parent links) however deep the tree is."""
    variants = {
        v.pk: v
        for v in Variant.objects.filter(draft=draft)
        .select_related("job__deployment", "created_by")
        .order_by("created_at", "index")
    }
    links = Variant.parents.through.objects.filter(from_variant__draft=draft).values_list(
        "from_variant_id", "to_variant_id"
    )
    first_parent: dict[int, int] = {}
    for child_id, parent_id in sorted(links):
        first_parent.setdefault(child_id, parent_id)
    nodes = {pk: {"variant": v, "children": []} for pk, v in variants.items()}
    roots = []
    for pk, node in nodes.items():
        parent_id = first_parent.get(pk)
        if parent_id in nodes:
            nodes[parent_id]["children"].append(node)
        else:
            roots.append(node)
    return roots
