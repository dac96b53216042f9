"""New versions of an image: instruction edits (optionally masked, with references) and localisations.

Both start an ordinary job through ``job_launch`` with the image as its base; the result is a new variant
whose parents are the base (and any references). The base itself never changes.
"""

from __future__ import annotations

from django.db import transaction

from studio.generation.errors import StudioError
from studio.generation.models import Deployment, GenerationJob, Operation, Variant
from studio.generation.services.launch import LaunchRequest, job_launch
from studio.safety.models import SafetyVerdict

LOCALISE_INSTRUCTION = (
    "Keep the layout, composition, imagery and colours exactly as they are. Replace only the text in the "
    'image with: "{copy}" (language: {locale}). Match the original typography\'s size, weight and position.'
)


def variant_edit(
    *,
    actor,
    variant: Variant,
    instruction: str,
    deployment: Deployment | None = None,
    mask_png: bytes | None = None,
    references: list[Variant] | None = None,
    locale: str = "",
    operation: str | None = None,
    reference_uploads: list[bytes] | None = None,
) -> GenerationJob:
    """Start an edit of ``variant``. The result is a new variant whose parents are the base (and any
    references); the base itself never changes."""
    if not instruction.strip():
        raise StudioError("Describe the change you want.", field_errors={"instruction": "Write an instruction."})
    base_job = variant.job
    deployment = deployment or base_job.deployment
    request = LaunchRequest(
        deployment=deployment,
        target_width=base_job.target_width,
        target_height=base_job.target_height,
        n=1,
        quality=base_job.params.get("quality", "auto"),
        output_format=base_job.params.get("output_format", "png"),
        background=base_job.params.get("background", ""),
        route=base_job.route if deployment == base_job.deployment else "explicit",
        locale=locale or variant.locale,
        target_format=base_job.target_format,
    )
    if operation is None:
        operation = Operation.INPAINT if mask_png else Operation.EDIT
    return job_launch(
        actor=actor,
        version=base_job.draft_version,
        request=request,
        operation=operation,
        base_variant=variant,
        instruction=instruction.strip(),
        references=references,
        mask_png=mask_png,
        reference_uploads=reference_uploads,
    )


def variant_localise(*, actor, variant: Variant, locales: list[str]) -> list[GenerationJob]:
    """Create one localised edit per locale from an approved master. Each result is its own node in the
    lineage, screened and reviewed on its own; the locale's copy comes from the draft version."""
    if not variant.is_localisable:
        raise StudioError("Localise from an approved master: this version is not approved yet.")
    if variant.safety_verdict == SafetyVerdict.BLOCK:
        raise StudioError("This version is blocked by the safety layer.")
    copy = variant.job.draft_version.locale_copy or {}
    missing = [loc for loc in locales if not copy.get(loc)]
    if not locales:
        raise StudioError("Choose at least one locale.", field_errors={"locales": "Choose at least one locale."})
    if missing:
        raise StudioError(
            "Add the in-image copy for " + ", ".join(missing) + " to the draft first.",
            field_errors={"locales": "No copy for " + ", ".join(missing)},
        )
    jobs = []
    with transaction.atomic():
        for locale in locales:
            jobs.append(
                variant_edit(
                    actor=actor,
                    variant=variant,
                    locale=locale,
                    operation=Operation.LOCALISE,
                    instruction=LOCALISE_INSTRUCTION.format(copy=copy[locale], locale=locale),
                )
            )
    return jobs
