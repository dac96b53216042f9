"""Production runs built with the models directly (not the runs app's services), for the review and
publishing tests: a run with one cell per (format, locale), each with a job and its variants at the
format's aspect (small pixels, real PNGs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.generation.models import VariantStatus
from studio.runs.models import CellStatus, ProductionRun, RunCell
from studio.safety.models import SafetyVerdict
from tests import factories as f

COPY = {"en": "Spring sale", "ja": "春のセール", "de": "Frühlingsangebot", "fr": "Soldes de printemps"}


def size_for(target_format, long_edge: int = 96) -> tuple[int, int]:
    """A small size with the format's aspect (what a channel-true cell generates, scaled down)."""
    w, h = target_format.width, target_format.height
    if w >= h:
        return long_edge, max(1, round(long_edge * h / w))
    return max(1, round(long_edge * w / h)), long_edge


@dataclass
class RunFixture:
    run: ProductionRun
    cells: list[RunCell] = field(default_factory=list)

    def variants(self):
        return [v for cell in self.cells if cell.job_id for v in cell.job.variants.order_by("index", "pk")]

    def cell(self, format_name: str, locale: str) -> RunCell:
        return next(c for c in self.cells if c.target_format.name == format_name and c.locale == locale)


def make_run(
    *,
    workspace,
    creator,
    campaign,
    formats,
    locales=("en", "ja"),
    per_cell: int = 1,
    status=VariantStatus.READY,
    verdict=SafetyVerdict.ALLOW,
    empty_cells=(),
) -> RunFixture:
    """``empty_cells``: (format name, locale) pairs left queued with no job (nothing generated yet)."""
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=creator)
    version = f.DraftVersionFactory(
        draft=draft, created_by=creator, locale_copy={loc: COPY.get(loc, f"Copy {loc}") for loc in locales}
    )
    deployment = f.DeploymentFactory(workspace=workspace)
    run = ProductionRun.objects.create(
        workspace=workspace,
        campaign=campaign,
        source_version=version,
        deployment=deployment,
        variants_per_cell=per_cell,
        created_by=creator,
    )
    fixture = RunFixture(run=run)
    for target_format in formats:
        width, height = size_for(target_format)
        for locale in locales:
            if (target_format.name, locale) in empty_cells:
                fixture.cells.append(
                    RunCell.objects.create(
                        run=run, target_format=target_format, locale=locale, status=CellStatus.QUEUED
                    )
                )
                continue
            job = f.GenerationJobFactory(
                draft_version=version,
                campaign=campaign,
                workspace=workspace,
                deployment=deployment,
                created_by=creator,
                target_format=target_format,
                locale=locale,
                n=per_cell,
                target_width=target_format.width,
                target_height=target_format.height,
                planned_width=width * 16,
                planned_height=height * 16,
            )
            for index in range(per_cell):
                f.VariantFactory(
                    job=job,
                    workspace=workspace,
                    draft=draft,
                    created_by=creator,
                    index=index,
                    width=width,
                    height=height,
                    locale=locale,
                    status=status,
                    safety_verdict=verdict,
                )
            fixture.cells.append(
                RunCell.objects.create(
                    run=run, target_format=target_format, locale=locale, job=job, status=CellStatus.SUCCEEDED
                )
            )
    return fixture
