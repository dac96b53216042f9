"""Studio reads. Every lookup takes the user and answers 404 for missing and forbidden alike."""

from __future__ import annotations

import difflib
import json
import re

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from studio.core.models import Workspace
from studio.generation.models import Campaign, DraftVersion, GenerationJob, PromptDraft, Variant


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
    job's ``base_variant``); reference images are parents too but never where a version belongs."""
    variants = {
        v.pk: v
        for v in Variant.objects.filter(draft=draft)
        .select_related("job__deployment", "created_by", "workspace")
        .order_by("created_at", "index")
    }
    nodes = {pk: {"variant": v, "children": []} for pk, v in variants.items()}
    roots = []
    for pk, node in nodes.items():
        parent_id = variants[pk].job.base_variant_id
        if parent_id in nodes:
            nodes[parent_id]["children"].append(node)
        else:
            roots.append(node)
    return roots


def draft_versions_for_diff(*, draft: PromptDraft, number: int) -> tuple[DraftVersion, DraftVersion]:
    """Version ``number`` of ``draft`` and the one before it (404 when either does not exist)."""
    versions = {
        v.number: v for v in draft.versions.filter(number__in=[number - 1, number]).select_related("created_by")
    }
    if number not in versions or number - 1 not in versions:
        raise Http404("No earlier version to compare with")
    return versions[number - 1], versions[number]


_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """A word-level diff of two texts as ``(kind, text)`` runs, kind one of ``equal``, ``insert``,
    ``delete``. Words are compared with their following whitespace kept as separate tokens, so the
    rendered result reads like the original text with the changes marked, not a list of lines."""
    a, b = _WORDS.findall(old or ""), _WORDS.findall(new or "")
    runs: list[tuple[str, str]] = []

    def add(kind: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1] + text)
        else:
            runs.append((kind, text))

    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            add("equal", a[i1:i2])
        else:
            add("delete", a[i1:i2])
            add("insert", b[j1:j2])
    return runs


def _copy_lines(copy: dict) -> str:
    return "\n".join(f"{locale}: {text}" for locale, text in (copy or {}).items())


def draft_version_diff(*, draft: PromptDraft, number: int) -> dict:
    """What changed from version ``number - 1`` to ``number``: the prompt text word by word, and the
    in-image copy and template values when they changed."""
    old, new = draft_versions_for_diff(draft=draft, number=number)
    result = {"old": old, "new": new, "text": word_diff(old.text, new.text), "copy": None, "variables": None}
    if (old.locale_copy or {}) != (new.locale_copy or {}):
        result["copy"] = word_diff(_copy_lines(old.locale_copy), _copy_lines(new.locale_copy))
    if (old.variables or {}) != (new.variables or {}):
        result["variables"] = word_diff(
            json.dumps(old.variables or {}, ensure_ascii=False), json.dumps(new.variables or {}, ensure_ascii=False)
        )
    result["unchanged"] = all(kind == "equal" for kind, _ in result["text"]) and not (
        result["copy"] or result["variables"]
    )
    return result


def variant_media_get(*, workspace: Workspace, pk: int) -> Variant:
    """The variant whose image or thumbnail is asked for, in ``workspace`` only (404 for missing and
    forbidden alike). Light on purpose: a page of thumbnails makes one of these per image."""
    try:
        return Variant.objects.only("pk", "workspace_id", "image", "thumbnail", "format").get(
            workspace=workspace, pk=pk
        )
    except Variant.DoesNotExist as exc:
        raise Http404("No such variant") from exc
