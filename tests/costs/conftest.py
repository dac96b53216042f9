"""A ledger that makes jobs, images and decisions through the real settle and transition paths, so the
cost app's hooks run as they do in production (after commit)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from approvals.reviews.models import (
    Decision,
    DecisionOutcome,
    Review,
    ReviewStage,
    ReviewStatus,
    StageKind,
    StageStatus,
)
from studio.generation.lifecycle import variant_transition
from studio.generation.locks import campaign_lock
from studio.generation.models import GenerationJob, JobStatus, Operation, Variant, VariantStatus
from studio.generation.services.budget import budget_settle
from studio.lib.providers.base import Usage
from tests import factories as f


class Ledger:
    def __init__(self, *, workspace, campaign, deployment, user, hooks):
        self.workspace, self.campaign, self.deployment, self.user = workspace, campaign, deployment, user
        self.hooks = hooks  # django_capture_on_commit_callbacks
        self.live = True  # False: hooks are "lost" (the catch-up must repair)

    def version(self):
        return f.DraftVersionFactory(
            draft__campaign=self.campaign,
            draft__workspace=self.workspace,
            created_by=self.user,
            draft__created_by=self.user,
        )

    def _run(self, action):
        if self.live:
            with self.hooks(execute=True), transaction.atomic():
                return action()
        with self.hooks(execute=False), transaction.atomic():
            return action()

    def job(
        self,
        version,
        spend,
        *,
        n=1,
        operation=Operation.GENERATE,
        base=None,
        rerun_of=None,
        quality="medium",
        locale="",
        status=JobStatus.SUCCEEDED,
        cached=0,
        width=1024,
        height=1024,
        when=None,
        estimated=None,
        latency=1200,
        created=None,
    ):
        spend = Decimal(spend)

        def make():
            job = GenerationJob.objects.create(
                workspace=self.workspace,
                campaign=self.campaign,
                draft_version=version,
                deployment=self.deployment,
                operation=operation,
                created_by=self.user,
                prompt="A bowl of lemons",
                locale=locale,
                n=n,
                params={"quality": quality},
                target_width=width,
                target_height=height,
                planned_width=width,
                planned_height=height,
                base_variant=base,
                rerun_of=rerun_of,
                status=JobStatus.RUNNING,
                estimated_cost=spend if estimated is None else Decimal(estimated),
                reserved_cost=spend,
                started_at=(when or timezone.now()) - dt.timedelta(seconds=3),
            )
            if created is not None:  # when the lineage began, for time-to-approval
                GenerationJob.objects.filter(pk=job.pk).update(created_at=created)
                job.created_at = created
            campaign = campaign_lock(self.campaign.pk)
            campaign.reserved_cost += spend
            campaign.save(update_fields=["reserved_cost"])
            variants = []
            if status == JobStatus.SUCCEEDED:
                for index in range(n):
                    variant = Variant.objects.create(
                        workspace=self.workspace,
                        job=job,
                        draft=version.draft,
                        index=index,
                        operation=operation,
                        locale=locale,
                        created_by=self.user,
                        width=width,
                        height=height,
                        sha256=hashlib.sha256(f"{job.pk}-{index}".encode()).hexdigest(),
                        format="png",
                        status=VariantStatus.READY,
                    )
                    variant.image.name = f"variants/{job.pk}-{index}.png"
                    variant.save(update_fields=["image"])
                    if base is not None:
                        variant.parents.add(base)
                    variants.append(variant)
            budget_settle(job=job, actual=spend)
            job.status = status
            job.actual_cost = spend
            job.usage = Usage(input_text_tokens=400, cached_text_tokens=cached, output_image_tokens=1000 * n).as_dict()
            job.finished_at = when or timezone.now()
            job.latency_ms = latency
            job.save()
            job.made = variants
            return job

        return self._run(make)

    def decide(self, variant, outcome=VariantStatus.APPROVED, when=None, reviewer=None, waited=None):
        """A closed review of ``variant``; with ``reviewer``, one brand stage decided by them ``waited``
        after the submission."""

        def act():
            v = Variant.objects.get(pk=variant.pk)
            variant_transition(actor=self.user, variant=v, to=VariantStatus.IN_REVIEW)
            approved = outcome == VariantStatus.APPROVED
            review = Review.objects.create(
                workspace=self.workspace,
                variant=v,
                variant_sha256=v.sha256,
                safety_verdict="allow",
                submitted_by=self.user,
                status=ReviewStatus.APPROVED if approved else ReviewStatus.REJECTED,
                closed_at=when or timezone.now(),
            )
            if reviewer is not None:
                Review.objects.filter(pk=review.pk).update(submitted_at=timezone.now() - (waited or dt.timedelta(0)))
                stage = ReviewStage.objects.create(
                    review=review,
                    kind=StageKind.BRAND,
                    order=1,
                    status=StageStatus.APPROVED if approved else StageStatus.REJECTED,
                )
                Decision.objects.create(
                    stage=stage,
                    reviewer=reviewer,
                    outcome=DecisionOutcome.APPROVE if approved else DecisionOutcome.REJECT,
                    note="" if approved else "Off brand",
                    variant_sha256=v.sha256,
                )
            variant_transition(actor=self.user, variant=v, to=outcome)
            return review

        return self._run(act)


@pytest.fixture
def ledger(workspace, campaign, offline_deployment, marketer, django_capture_on_commit_callbacks):
    campaign.budget = Decimal("1000")
    campaign.save(update_fields=["budget"])
    return Ledger(
        workspace=workspace,
        campaign=campaign,
        deployment=offline_deployment,
        user=marketer,
        hooks=django_capture_on_commit_callbacks,
    )
