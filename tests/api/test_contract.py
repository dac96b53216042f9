"""Contract test from the schema itself: schemathesis generates requests for every operation of
/api/v1/openapi.json (valid and invalid ones) and sends them to a live server. No answer may be a 5xx, and
every answer must match the schema (status code documented, content type, body shape, headers). First,
every kind of write is sent once with a body that must succeed, so the 2xx bodies meet the schema too.

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


def _seed() -> tuple[str, dict[str, int]]:
    """One of everything in "acme", so generated ids sometimes hit real objects; returns the key of a user
    who may do every write (admin, compliance auditor and marketer) and the ids the planned writes use."""
    workspace = f.WorkspaceFactory(slug="acme", name="Acme")
    boss = member(workspace, "ada", Role.ADMIN)
    f.MembershipFactory(user=boss, workspace=workspace, role=Role.COMPLIANCE)
    f.MembershipFactory(user=boss, workspace=workspace, role=Role.MARKETER)
    maker = member(workspace, "mia")
    judge = member(workspace, "rob", Role.BRAND_REVIEWER)
    campaign = f.CampaignFactory(workspace=workspace)
    fmt = f.CampaignFormatFactory(campaign=campaign, width=64, height=48)
    small = f.CampaignFormatFactory(campaign=campaign, width=32, height=24)
    ad = f.CampaignFormatFactory(campaign=campaign, width=1200, height=628)
    f.DeploymentFactory(workspace=workspace, profile=f.CapabilityProfileFactory(), is_default=True)
    f.PriceTableFactory()
    approved = variant_for(workspace, creator=maker, campaign=campaign)
    review = reviews.variant_submit(actor=maker, variant=approved)
    reviews.review_decide(
        actor=judge, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=approved.sha256
    )
    publication = publishing.publication_create(actor=maker, variant=approved, target_format=fmt)
    waiting = variant_for(workspace, creator=maker, campaign=campaign)
    open_review = reviews.variant_submit(actor=maker, variant=waiting)
    ready = variant_for(workspace, creator=maker, campaign=campaign)
    ids = {
        "campaign": campaign.pk,
        "fmt": fmt.pk,
        "ad": ad.pk,
        "small": small.pk,
        "approved": approved.pk,
        "publication": publication.pk,
        "open_review": open_review.pk,
        "waiting_sha256": waiting.sha256,
        "ready": ready.pk,
    }
    return key_for(boss, workspace), ids


def _successful_writes(schema, call, ids: dict) -> list[str]:
    """Every kind of POST once with a body that must succeed, each answer checked like a generated one:
    generated ids seldom name a seeded object, so without these no 201/202 body would meet the schema."""
    failures = []

    def write(path: str, body=None, *, expect: int, **path_parameters) -> dict:
        case = schema[path]["POST"].Case(
            path_parameters=path_parameters, body=body if body is not None else {}, media_type="application/json"
        )
        try:
            response = call(case)
        except Exception as exc:  # a failed check: reported with the others
            failures.append(f"POST {path} (planned write): {exc}"[:3000])
            return {}
        if response.status_code != expect:
            failures.append(f"POST {path} (planned write): {response.status_code} {response.text[:500]}")
            return {}
        return response.json()

    draft = write(
        "/api/v1/drafts/", {"campaign": ids["campaign"], "title": "Spring", "text": "A sunlit kitchen"}, expect=201
    )
    if draft:
        version = {"text": "A sunlit kitchen, lemons", "locale_copy": {"en": "Spring sale"}}
        write("/api/v1/drafts/{id}/versions/", version, expect=201, id=draft["id"])
        job = {"draft": draft["id"], "target_format": ids["ad"], "n": 1, "quality": "low"}
        write("/api/v1/jobs/", job, expect=201)
        run_body = {"campaign": ids["campaign"], "draft": draft["id"], "formats": [ids["ad"]], "locales": ["en"]}
        run = write("/api/v1/runs/", {**run_body, "quality": "low"}, expect=201)
        if run:
            write("/api/v1/runs/{id}/cancel/", None, expect=200, id=run["id"])
    write("/api/v1/reviews/", {"variant": ids["ready"]}, expect=201)
    decision = {"outcome": "approve", "expected_sha256": ids["waiting_sha256"]}
    write("/api/v1/reviews/{id}/decisions/", decision, expect=201, id=ids["open_review"])
    write("/api/v1/publications/", {"variant": ids["approved"], "target_format": ids["small"]}, expect=202)
    write("/api/v1/publications/", {"variant": ids["approved"], "target_format": ids["fmt"]}, expect=200)
    write("/api/v1/publications/{id}/retract/", {"reason": "Wrong price"}, expect=200, id=ids["publication"])
    return failures


def test_every_operation_keeps_to_the_schema(live_server):
    key, ids = _seed()
    base = live_server.url + "/api/v1"
    session = requests.Session()
    assert session.get(base + "/openapi.json").json()["openapi"].startswith("3.1.")
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    headers = {"Authorization": f"Bearer {key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    def call(case):
        return case.call_and_validate(base_url=live_server.url, session=session, headers=headers, checks=CHECKS)

    failures = _successful_writes(schema, call, ids)
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
                call(case)

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
