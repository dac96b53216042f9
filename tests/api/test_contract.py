"""Contract test from the schema itself: schemathesis generates requests for every operation of
/api/v1/openapi.json (valid and invalid ones) and sends them to a live server. No answer may be a 5xx, and
every answer must match the schema (status code documented, content type, body shape, headers).

Bounded and deterministic: ``EXAMPLES`` per operation and generation mode, derandomised, no example
database; well under two minutes on PostgreSQL. Marked ``integration`` (make test's PostgreSQL step)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from approvals.publishing import services as publishing
from approvals.reviews import services as reviews
from approvals.reviews.models import StageKind
from studio.core.models import Role
from tests import factories as f
from tests.api.conftest import key_for
from tests.approvals.factories_reviews import member, variant_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# What "keeps to the schema" means here. Not ``positive_data_acceptance``: a schema-valid body may name an id
# that does not exist or an image that is not approved, and the refusal (422/409) is the right answer.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]
EXAMPLES = 5  # per operation and mode: 29 operations x 2 modes x 5 = 290 examples at most


def _seed():
    """One of everything in "acme", so generated ids sometimes hit real objects."""
    workspace = f.WorkspaceFactory(slug="acme", name="Acme")
    boss = member(workspace, "ada", Role.ADMIN)
    f.MembershipFactory(user=boss, workspace=workspace, role=Role.COMPLIANCE)
    maker = member(workspace, "mia")
    judge = member(workspace, "rob", Role.BRAND_REVIEWER)
    campaign = f.CampaignFactory(workspace=workspace)
    fmt = f.CampaignFormatFactory(campaign=campaign, width=64, height=48)
    f.DeploymentFactory(workspace=workspace, profile=f.CapabilityProfileFactory(), is_default=True)
    f.PriceTableFactory()
    approved = variant_for(workspace, creator=maker, campaign=campaign)
    review = reviews.variant_submit(actor=maker, variant=approved)
    reviews.review_decide(
        actor=judge, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=approved.sha256
    )
    publishing.publication_create(actor=maker, variant=approved, target_format=fmt)
    reviews.variant_submit(actor=maker, variant=variant_for(workspace, creator=maker, campaign=campaign))
    return key_for(boss, workspace)


def test_every_operation_keeps_to_the_schema(live_server):
    key = _seed()
    base = live_server.url + "/api/v1"
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    session = requests.Session()
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                case.call_and_validate(base_url=live_server.url, session=session, headers=headers, checks=CHECKS)

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
