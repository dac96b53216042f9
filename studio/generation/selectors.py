"""Studio reads. Every lookup takes the user and answers 404 for missing and forbidden alike."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from studio.core.models import Workspace
from studio.generation.models import Campaign, DraftVersion, GenerationJob, PromptDraft, Variant
from studio.lib.providers.offline import split_prompt
from studio.lib.textdiff import keyed_diff, word_diff


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


def jobs_for_draft(*, draft: PromptDraft, limit: int = 20) -> list[GenerationJob]:
    # The workspace joined in: each thumbnail's URL names the workspace (Variant.thumbnail_src).
    variants = Variant.objects.select_related("workspace").order_by("index")
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


def variant_lineage(*, variant: Variant, depth: int = 50) -> list[Variant]:
    """Ancestors from the root down to ``variant``, following each version's base image (the variant its
    job edited). Other parents are references, which can be older than the base: "lowest parent id"
    would wrongly follow them. Two queries however deep the lineage: an edit stays in its base's draft, so
    the draft's (variant, base) pairs are enough to walk it."""
    base_of = dict(Variant.objects.filter(draft_id=variant.draft_id).values_list("pk", "job__base_variant_id"))
    chain_ids = [variant.pk]
    current = variant.job.base_variant_id
    while current is not None and current in base_of and len(chain_ids) < depth:
        chain_ids.append(current)
        current = base_of[current]
    ancestors = Variant.objects.select_related("job").in_bulk(chain_ids[1:])
    chain = [variant] + [ancestors[pk] for pk in chain_ids[1:] if pk in ancestors]
    return list(reversed(chain))


def draft_tree(*, draft: PromptDraft) -> list[dict]:
    """The version tree of a draft as nested dicts ``{"variant": v, "children": [...]}``, built from one
    query (variants with their job) however deep the tree is. A version hangs under its base image (its
    job's ``base_variant``); reference images are parents too but never where a version belongs.

    Each node also has ``depth`` (0 for roots) and ``parent`` (its base variant, or None)."""
    variants = {
        v.pk: v
        for v in Variant.objects.filter(draft=draft)
        .select_related("job__deployment", "created_by", "workspace")
        .order_by("created_at", "index")
    }
    nodes = {pk: {"variant": v, "children": [], "parent": None, "depth": 0} for pk, v in variants.items()}
    roots = []
    for pk, node in nodes.items():
        parent_id = variants[pk].job.base_variant_id
        if parent_id in nodes:
            nodes[parent_id]["children"].append(node)
            node["parent"] = variants[parent_id]
        else:
            roots.append(node)
    stack = [(root, 0) for root in roots]
    while stack:  # depth without recursion: a chain of edits can be hundreds deep
        node, depth = stack.pop()
        node["depth"] = depth
        stack.extend((child, depth + 1) for child in node["children"])
    return roots


def tree_by_job(nodes: list[dict]) -> list[dict]:
    """The version tree (``draft_tree``'s nodes) as one entry per job: ``{"job", "variants", "summary",
    "base", "depth", "children"}``, children being the jobs made from any of its images. A job's prompt,
    parameters and cost belong to the job, so the page shows them once, not on each of its n images."""
    groups: dict[int, dict] = {}
    for node in nodes:
        job = node["variant"].job
        group = groups.get(job.pk)
        if group is None:
            group = groups[job.pk] = {
                "job": job,
                "variants": [],
                "summary": prompt_summary(job),
                "base": node["parent"],
                "depth": node["depth"],
                "child_nodes": [],
            }
        group["variants"].append(node["variant"])
        group["child_nodes"].extend(node["children"])
    for group in groups.values():
        group["children"] = tree_by_job(group.pop("child_nodes"))
    return list(groups.values())


def prompt_summary(job: GenerationJob) -> str:
    """What a person wrote for this job: the edit instruction, or the prompt without the brand style that
    every prompt of the workspace starts with (and without the in-image copy line, shown as the locale)."""
    if job.instruction:
        return job.instruction
    parts = split_prompt(job.prompt or "")
    return parts["body"] or job.prompt or ""


def draft_versions_for_diff(*, draft: PromptDraft, number: int) -> tuple[DraftVersion, DraftVersion]:
    """Version ``number`` of ``draft`` and the one before it (404 when either does not exist)."""
    versions = {
        v.number: v for v in draft.versions.filter(number__in=[number - 1, number]).select_related("created_by")
    }
    if number not in versions or number - 1 not in versions:
        raise Http404("No earlier version to compare with")
    return versions[number - 1], versions[number]


def draft_version_diff(*, draft: PromptDraft, number: int) -> dict:
    """What changed from version ``number - 1`` to ``number``: the prompt text word by word, and the
    in-image copy (by locale) and template values (by name) when they changed, each as added, removed or
    changed entries (``studio.lib.textdiff.keyed_diff``) rather than a diff of their JSON."""
    old, new = draft_versions_for_diff(draft=draft, number=number)
    text = word_diff(old.text, new.text)
    copy = keyed_diff(old.locale_copy, new.locale_copy)
    variables = keyed_diff(old.variables, new.variables)
    return {
        "old": old,
        "new": new,
        "text": text,
        "text_changed": any(kind != "equal" for kind, _ in text),
        "copy": copy,
        "variables": variables,
        "unchanged": all(kind == "equal" for kind, _ in text) and not (copy or variables),
    }


def variant_media_get(*, workspace: Workspace, pk: int) -> Variant:
    """The variant whose image or thumbnail is asked for, in ``workspace`` only (404 for missing and
    forbidden alike). Light on purpose: a page of thumbnails makes one of these per image."""
    try:
        return Variant.objects.only("pk", "workspace_id", "image", "thumbnail", "format").get(
            workspace=workspace, pk=pk
        )
    except Variant.DoesNotExist as exc:
        raise Http404("No such variant") from exc


def jobs_started_from(*, workspace: Workspace, variant: Variant, pks: list[int]) -> list[GenerationJob]:
    """The jobs just started from ``variant`` (an edit, localised versions), for the progress its page
    shows in place (issue 14). Ids of jobs from another variant or workspace are ignored, not refused:
    they come from the page's own URL."""
    if not pks:
        return []
    variants = Variant.objects.select_related("workspace").order_by("index")
    return list(
        GenerationJob.objects.filter(workspace=workspace, base_variant=variant, pk__in=pks)
        .select_related("deployment")
        .prefetch_related(Prefetch("variants", queryset=variants))
        .order_by("pk")
    )
