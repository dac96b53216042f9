"""Planning a production run before anything is spent: the grid of formats x locales, per cell the
generation size with the planner's notes, the estimated cost or why the cell is refused, the run's total
and what the campaign's budget allows.

Reads only. The launch (``studio.runs.services.run_launch``) plans again under the campaign lock, with the
same code, so the page shown before launching and the reservation can never disagree. Per cell it runs
the studio's own launch checks (``studio.generation.services.launch``: deployment, capabilities, size
plan, estimate), so a cell that plans here launches through ``job_launch`` unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from decimal import Decimal

from studio.core.errors import Refusal
from studio.generation.models import Campaign, CampaignFormat, Deployment, DraftVersion, Operation, Variant
from studio.generation.pricing import Estimate, PriceNotFound, price_for
from studio.generation.services.calibration import _basis, calibrate
from studio.generation.services.drafts import missing_variables, prompt_compose
from studio.generation.services.launch import LaunchRequest, _estimate, _validate_launch
from studio.lib.pricing import estimated_cost, pixel_class
from studio.lib.sizing import SizePlan

# A cell whose model cannot compose at its format's aspect would be cropped from an image composed for
# another shape. Within this aspect difference the rendition's trim is invisible; beyond it the cell is
# refused (never a silent crop): choose a model whose size rules reach that aspect.
ASPECT_TOLERANCE = 0.10
MAX_CELLS = 2000

DERIVE_INSTRUCTION = (
    "Recompose this approved image for a {width}x{height} frame ({aspect}). Keep its subject, composition, "
    "imagery, colours and typography; extend or rearrange the background to fill the new shape instead of "
    'cropping anything important. Replace only the text in the image with: "{copy}" (language: {locale}).'
)
DERIVE_INSTRUCTION_NO_COPY = (
    "Recompose this approved image for a {width}x{height} frame ({aspect}). Keep its subject, composition, "
    "imagery, colours and any text exactly; extend or rearrange the background to fill the new shape instead "
    "of cropping anything important."
)


@dataclass(frozen=True)
class RunSpec:
    """What a marketer asks for. Exactly one of ``version`` and ``master`` is set."""

    campaign: Campaign
    deployment: Deployment
    formats: list[CampaignFormat]
    locales: list[str]
    n: int = 1
    quality: str = "auto"
    version: DraftVersion | None = None
    master: Variant | None = None

    @property
    def source_version(self) -> DraftVersion:
        return self.master.job.draft_version if self.master is not None else self.version


@dataclass
class CellPlan:
    target_format: CampaignFormat
    locale: str
    plan: SizePlan | None = None
    estimate: Decimal = Decimal(0)
    basis: str = ""
    refusal: str = ""
    instruction: str = ""
    over_budget: bool = False
    per_image: Decimal = Decimal(0)

    @property
    def ok(self) -> bool:
        return not self.refusal

    @property
    def launchable(self) -> bool:
        return self.ok and not self.over_budget

    @property
    def generation_size(self) -> str:
        return self.plan.size if self.plan else ""

    @property
    def notes(self) -> list[str]:
        return list(self.plan.notes) if self.plan else []


@dataclass
class RunPlan:
    spec: RunSpec
    cells: list[CellPlan] = field(default_factory=list)
    total: Decimal = Decimal(0)
    remaining: Decimal = Decimal(0)
    budget: Decimal = Decimal(0)
    committed: Decimal = Decimal(0)  # spent + reserved before this run
    alert_percent: int = 80
    problems: list[str] = field(default_factory=list)  # refusals of the whole run (empty grid, ...)

    @property
    def planned(self) -> list[CellPlan]:
        return [cell for cell in self.cells if cell.ok]

    @property
    def refused(self) -> list[CellPlan]:
        return [cell for cell in self.cells if not cell.ok]

    @property
    def fits(self) -> bool:
        return self.total <= self.remaining

    @property
    def fitting_prefix(self) -> list[CellPlan]:
        """The cells "launch only what fits" would launch: planned cells in grid order while they fit."""
        chosen, running = [], Decimal(0)
        for cell in self.planned:
            if running + cell.estimate > self.remaining:
                break
            chosen.append(cell)
            running += cell.estimate
        return chosen

    @property
    def fitting_total(self) -> Decimal:
        return sum((cell.estimate for cell in self.fitting_prefix), Decimal(0))

    @property
    def crosses_alert(self) -> bool:
        """This run takes spent + reserved over the campaign's alert share when it was under it."""
        if self.budget <= 0:
            return False
        threshold = self.budget * Decimal(self.alert_percent) / Decimal(100)
        return self.committed < threshold <= self.committed + self.total

    @property
    def usage_after_percent(self) -> int:
        if self.budget <= 0:
            return 100
        return int(min(Decimal(999), (self.committed + self.total) * 100 / self.budget))

    @property
    def locales(self) -> list[str]:
        return list(dict.fromkeys(cell.locale for cell in self.cells))

    @property
    def rows(self) -> list[tuple[CampaignFormat, list[CellPlan]]]:
        """The grid: one row per format, one cell per locale (the template's table)."""
        by_format: dict[int, tuple[CampaignFormat, list[CellPlan]]] = {}
        for cell in self.cells:
            by_format.setdefault(cell.target_format.pk, (cell.target_format, []))[1].append(cell)
        return list(by_format.values())


def _aspect_label(width: int, height: int) -> str:
    g = math.gcd(width, height)
    w, h = width // g, height // g
    return f"{w}:{h}" if w <= 32 and h <= 32 else f"{width / height:.2f}:1"


def _aspect_gap(plan: SizePlan) -> float:
    """How far the generation's aspect is from the target's, as a fraction (0.05 = 5%)."""
    target = plan.target_width / plan.target_height
    made = plan.width / plan.height
    return abs(target / made - 1)


@dataclass
class PlanMemo:
    """What every cell of one grid shares, computed once per plan instead of once per cell: the size plan
    depends only on the format's size, the price row and the calibration only on the generation size. A
    10 formats x 100 locales run plans 10 sizes, not 1,000 (each was two queries and the size search).
    The estimate is still ``calibrated_estimate``'s arithmetic (``tests/runs`` checks they agree)."""

    sizes: dict = field(default_factory=dict)
    pricing: dict = field(default_factory=dict)

    def validate(self, *, spec: RunSpec, request: LaunchRequest, operation: str) -> SizePlan:
        key = (request.target_width, request.target_height, operation)
        if key not in self.sizes:
            try:
                self.sizes[key] = _validate_launch(
                    workspace=spec.campaign.workspace, request=request, operation=operation, input_images=1
                )
            except Refusal as exc:
                self.sizes[key] = exc
        found = self.sizes[key]
        if isinstance(found, Refusal):
            raise found
        return dataclasses.replace(found, notes=list(found.notes))  # each cell owns its notes

    def estimate(self, *, deployment: Deployment, quality: str, width: int, height: int, n: int, **rest) -> Estimate:
        key = (width, height)
        if key not in self.pricing:
            profile = deployment.profile
            try:
                price = price_for(model_name=profile.name, provider=deployment.provider)
            except PriceNotFound:
                price = None
            calibration = calibrate(profile=profile, quality=quality, width=width, height=height)
            self.pricing[key] = (price, calibration)
        price, calibration = self.pricing[key]
        if price is None:  # the launch's own words for a missing price table
            return _estimate(deployment=deployment, quality=quality, width=width, height=height, n=n, **rest)
        amount, per_image = estimated_cost(price=price, tokens_per_image=calibration.tokens_per_image, n=n, **rest)
        basis = _basis(
            calibration, profile_name=deployment.profile.name, quality=quality, mp=pixel_class(width, height)
        )
        return Estimate(amount=amount, basis=basis, per_image=per_image)


def _copy_for(version: DraftVersion, locale: str) -> str | None:
    return (version.locale_copy or {}).get(locale) if locale else None


def _instruction(spec: RunSpec, width: int, height: int, locale: str, copy: str | None) -> str:
    """A cell's edit instruction when it derives from a master (keep the composition, the format's own
    aspect, the locale's copy); none for a generation from the draft."""
    if spec.master is None:
        return ""
    template = DERIVE_INSTRUCTION if copy else DERIVE_INSTRUCTION_NO_COPY
    return template.format(width=width, height=height, aspect=_aspect_label(width, height), copy=copy, locale=locale)


def cell_prompt(spec: RunSpec, width: int, height: int, locale: str) -> str | None:
    """The prompt a cell's job will carry (what its safety check reads); ``None`` when the locale has no
    copy, so the cell is refused instead."""
    copy = _copy_for(spec.source_version, locale)
    if locale and not copy:
        return None
    instruction = _instruction(spec, width, height, locale, copy)
    return prompt_compose(version=spec.source_version, locale=locale, instruction=instruction)


def _cell_plan(spec: RunSpec, fmt: CampaignFormat, locale: str, memo: PlanMemo | None = None) -> CellPlan:
    memo = memo or PlanMemo()
    cell = CellPlan(target_format=fmt, locale=locale)
    version = spec.source_version
    copy = _copy_for(version, locale)
    if locale and not copy:
        cell.refusal = f"The draft has no in-image copy for {locale}: add it to the draft first."
        return cell
    request = LaunchRequest(
        deployment=spec.deployment,
        target_width=fmt.width,
        target_height=fmt.height,
        n=spec.n,
        quality=spec.quality,
        locale=locale,
        target_format=fmt,
    )
    operation = Operation.GENERATE if spec.master is None else Operation.LOCALISE
    try:
        plan = memo.validate(spec=spec, request=request, operation=operation)
    except Refusal as exc:
        details = "; ".join(exc.field_errors.values())
        cell.refusal = details or exc.message
        return cell
    cell.plan = plan
    if plan.crop and _aspect_gap(plan) > ASPECT_TOLERANCE:
        cell.refusal = (
            f"{spec.deployment.profile.name} cannot compose at {fmt.size} ({_aspect_label(fmt.width, fmt.height)}): "
            f"the nearest size it makes, {plan.size}, would need a crop of {_aspect_gap(plan):.0%}, beyond the "
            f"{ASPECT_TOLERANCE:.0%} tolerance. Use another deployment for this format."
        )
        return cell
    cell.instruction = _instruction(spec, fmt.width, fmt.height, locale, copy)
    try:
        estimate = memo.estimate(
            deployment=spec.deployment,
            quality=spec.quality,
            width=plan.width,
            height=plan.height,
            n=spec.n,
            prompt=prompt_compose(version=version, locale=locale, instruction=cell.instruction),
            input_images=1 if spec.master is not None else 0,
        )
    except Refusal as exc:
        cell.refusal = exc.message
        return cell
    cell.estimate = estimate.amount
    cell.basis = estimate.basis
    cell.per_image = estimate.per_image
    return cell


def _source_problems(spec: RunSpec) -> list[str]:
    problems = []
    if (spec.version is None) == (spec.master is None):
        problems.append("Choose one source: a draft version or an approved master image.")
        return problems
    if spec.master is not None:
        master = spec.master
        if master.workspace_id != spec.campaign.workspace_id or master.draft.campaign_id != spec.campaign.pk:
            problems.append("That master image belongs to another campaign.")
        elif not master.is_localisable:
            problems.append("Derive from an approved master: this image is not approved.")
        elif master.is_blocked:
            problems.append("This image is blocked by the safety layer.")
    elif spec.version.draft.campaign_id != spec.campaign.pk:
        problems.append("That draft belongs to another campaign.")
    elif missing := missing_variables(spec.version):
        problems.append("Fill in every template variable of the draft first: " + ", ".join(missing) + ".")
    deployment = spec.deployment
    if deployment.workspace_id != spec.campaign.workspace_id or not deployment.active:
        problems.append("That deployment is not available in this workspace.")
    if not spec.formats:
        problems.append("Choose at least one format: the grid is empty.")
    if spec.campaign.locales and not spec.locales:
        problems.append("Choose at least one locale: the grid is empty.")
    if unknown := [loc for loc in spec.locales if loc not in (spec.campaign.locales or [])]:
        problems.append("Not a locale of this campaign: " + ", ".join(unknown) + ".")
    if foreign := [fmt.name for fmt in spec.formats if fmt.campaign_id != spec.campaign.pk]:
        problems.append("Not a format of this campaign: " + ", ".join(foreign) + ".")
    if not 1 <= spec.n <= 10:
        problems.append("Variants per cell must be between 1 and 10.")
    if len(spec.formats) * max(len(spec.locales), 1) > MAX_CELLS:
        problems.append(f"A run has at most {MAX_CELLS:,} cells; split it into smaller runs.")
    return problems


def run_plan(spec: RunSpec, *, campaign: Campaign | None = None) -> RunPlan:
    """Plan every cell of ``spec``'s grid. ``campaign`` is the locked row at launch (its budget numbers);
    otherwise the campaign as read. Never raises for a cell: a cell that cannot be made carries its reason."""
    campaign = campaign or spec.campaign
    result = RunPlan(
        spec=spec,
        remaining=campaign.remaining,
        budget=campaign.budget,
        committed=campaign.reserved_cost + campaign.spent_cost,
        alert_percent=campaign.budget_alert_percent,
    )
    result.problems = _source_problems(spec)
    if result.problems:
        return result
    locales = spec.locales or [""]
    memo = PlanMemo()
    for fmt in spec.formats:
        for locale in locales:
            result.cells.append(_cell_plan(spec, fmt, locale, memo))
    result.total = sum((cell.estimate for cell in result.planned), Decimal(0))
    fitting = {id(cell) for cell in result.fitting_prefix}
    for cell in result.planned:
        cell.over_budget = id(cell) not in fitting
    if not result.planned:
        reasons = list(dict.fromkeys(cell.refusal for cell in result.cells))
        result.problems.append(
            "Every cell of this grid is refused, so there is nothing to launch: " + " ".join(reasons[:3])
        )
    return result
