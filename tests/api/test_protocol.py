"""The API's protocol: Idempotency-Key, cursor pagination, per-key rate limits, problem details for every
error, unknown fields refused, and list endpoints whose query counts do not grow with the page."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.api.models import IdempotencyRecord
from approvals.reviews import services as review_services
from studio.core.models import AuditEvent
from studio.generation.models import PromptDraft
from tests import factories as f
from tests.api.conftest import problem
from tests.approvals.factories_reviews import member, variant_for

pytestmark = pytest.mark.django_db


def _draft_body(campaign, title="Spring"):
    return {"campaign": campaign.pk, "title": title, "text": "A sunlit kitchen"}


# --- Idempotency-Key ---------------------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    first = api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="run-1")
    again = api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="run-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert PromptDraft.objects.count() == 1


def test_same_key_with_another_body_is_refused(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="run-1")
    response = api.post("/api/v1/drafts/", _draft_body(campaign, "Other"), idempotency_key="run-1")
    assert response.status_code == 422
    assert problem(response)["code"] == "idempotency_key_reused"
    assert PromptDraft.objects.count() == 1


def test_without_a_key_each_post_acts(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    api.post("/api/v1/drafts/", _draft_body(campaign))
    api.post("/api/v1/drafts/", _draft_body(campaign))
    assert PromptDraft.objects.count() == 2


def test_keys_are_per_api_key(api_for, workspace, marketer, campaign):
    api_for(marketer, workspace).post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    api_for(marketer, workspace).post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    assert PromptDraft.objects.count() == 2


def test_a_request_still_running_is_409(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    IdempotencyRecord.objects.update(status_code=None)  # as if the first were still running
    response = api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    assert response.status_code == 409
    assert problem(response)["code"] == "idempotency_in_progress"


def test_an_expired_key_may_be_used_again(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.post("/api/v1/drafts/", _draft_body(campaign, "New"), idempotency_key="k")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert PromptDraft.objects.count() == 2


def test_a_corrected_request_may_reuse_the_key_of_a_validation_error(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    typo = api.post("/api/v1/drafts/", {"campaign": campaign.pk, "title": "Spring"}, idempotency_key="k")
    assert typo.status_code == 400
    assert "text" in problem(typo)["errors"]
    fixed = api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    assert fixed.status_code == 201, fixed.content
    assert "Idempotent-Replayed" not in fixed
    again = api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    assert again["Idempotent-Replayed"] == "true"
    assert PromptDraft.objects.count() == 1


def test_refusals_that_changed_nothing_are_not_kept_and_bad_keys_are_400(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    body = {"campaign": 999999, "title": "x", "text": "y"}
    first = api.post("/api/v1/drafts/", body, idempotency_key="k")
    again = api.post("/api/v1/drafts/", body, idempotency_key="k")
    assert first.status_code == again.status_code == 422
    assert "Idempotent-Replayed" not in again
    assert not IdempotencyRecord.objects.exists()
    assert api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k").status_code == 201
    assert api.post("/api/v1/drafts/", body, idempotency_key="has space").status_code == 400


def test_a_refusal_the_audit_log_recorded_is_replayed(api_for, workspace, marketer, campaign):
    """The rules refused a decision and the log says who tried: a repeat gets that answer, not a second try."""
    maker = member(workspace, "max")
    variant = variant_for(workspace, creator=maker, campaign=campaign)
    review = review_services.variant_submit(actor=maker, variant=variant)
    api = api_for(marketer, workspace)
    body = {"outcome": "approve", "expected_sha256": variant.sha256}
    first = api.post(f"/api/v1/reviews/{review.pk}/decisions/", body, idempotency_key="k")
    again = api.post(f"/api/v1/reviews/{review.pk}/decisions/", body, idempotency_key="k")
    assert first.status_code == again.status_code == 403
    assert again["Idempotent-Replayed"] == "true"
    assert problem(again)["code"] == "role_required"
    assert AuditEvent.objects.filter(action="approvals.review.decision_refused").count() == 1


def test_a_server_error_releases_the_key(api_for, workspace, marketer, campaign, monkeypatch):
    from studio.generation import services

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "draft_create", broken)
    api = api_for(marketer, workspace)
    response = api.post("/api/v1/drafts/", _draft_body(campaign), idempotency_key="k")
    assert response.status_code == 500
    assert problem(response)["detail"] == "Something went wrong; nothing was changed."
    assert not IdempotencyRecord.objects.exists()


# --- pagination ----------------------------------------------------------------------------------------------


def test_cursor_pages_walk_every_row_once(api_for, workspace, marketer):
    campaigns = [f.CampaignFactory(workspace=workspace) for _ in range(5)]
    api = api_for(marketer, workspace, ["read"])
    seen, url = [], "/api/v1/campaigns/?limit=2"
    while url:
        page = api.client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted((c.pk for c in campaigns), reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "!!!",
        base64.b64encode(b"p=abc").decode(),
        base64.b64encode(b"p=99999999999999999999").decode(),
        base64.b64encode(b"o=x&r=1").decode(),
    ],
)
def test_bad_cursors_are_400(api_for, workspace, marketer, cursor):
    response = api_for(marketer, workspace, ["read"]).get("/api/v1/publications/", cursor=cursor)
    assert response.status_code == 400
    assert "cursor" in problem(response)["errors"]


@pytest.mark.parametrize(
    "params",
    [{"campaign": "abc"}, {"campaign": "0"}, {"campaign": str(2**64)}, {"since": "yesterday"}, {"locale": "x" * 50}],
)
def test_bad_filters_are_400(api_for, workspace, marketer, params):
    response = api_for(marketer, workspace, ["read"]).get("/api/v1/publications/", **params)
    assert response.status_code == 400
    problem(response)


def test_publication_filters(api_for, workspace, marketer, reviewer, campaign):
    from approvals.publishing.models import Publication

    fmt = f.CampaignFormatFactory(campaign=campaign, width=64, height=48)
    other_campaign = f.CampaignFactory(workspace=workspace)
    ja = _publication(workspace, marketer, reviewer, campaign, fmt, locale="ja")
    en = _publication(workspace, marketer, reviewer, other_campaign, None, locale="en")
    Publication.objects.filter(pk=ja.pk).update(created_at=timezone.now() - timedelta(days=3))
    api = api_for(marketer, workspace, ["read"])

    def ids(**params):
        return [row["id"] for row in api.get("/api/v1/publications/", **params).json()["results"]]

    assert ids() == [en.pk, ja.pk]
    assert ids(campaign=campaign.pk) == [ja.pk]
    assert ids(format=fmt.pk) == [ja.pk]
    assert ids(locale="en") == [en.pk]
    assert ids(since=(timezone.now() - timedelta(days=1)).isoformat()) == [en.pk]


def _publication(workspace, maker, judge, campaign, fmt, locale=""):
    from approvals.publishing import services as publishing
    from approvals.reviews import services as reviews
    from approvals.reviews.models import StageKind

    fmt = fmt or f.CampaignFormatFactory(campaign=campaign, width=32, height=24)
    variant = variant_for(workspace, creator=maker, campaign=campaign, locale=locale)
    review = reviews.variant_submit(actor=maker, variant=variant)
    reviews.review_decide(
        actor=judge, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    return publishing.publication_create(actor=maker, variant=variant, target_format=fmt)


# --- rate limits ------------------------------------------------------------------------------------------------


def test_rate_limit_per_key_answers_429_with_retry_after(api_for, workspace, marketer, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    api, other = api_for(marketer, workspace, ["read"]), api_for(marketer, workspace, ["read"])
    assert [api.get("/api/v1/campaigns/").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/api/v1/campaigns/")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert problem(limited)["code"] == "rate_limited"
    assert other.get("/api/v1/campaigns/").status_code == 200  # counted per key


# --- problem details for every error ------------------------------------------------------------------------


def test_unknown_paths_and_methods(api_for, workspace, marketer):
    api = api_for(marketer, workspace)
    assert problem(api.get("/api/v1/nothing/"))["status"] == 404
    assert problem(api.get("/api/v1/campaigns/abc/"))["status"] == 404
    assert problem(api.get(f"/api/v1/campaigns/{2**70}/"))["status"] == 404
    deleted = api.client.delete("/api/v1/campaigns/")
    assert deleted.status_code == 405
    problem(deleted)
    assert api.get("/api/v1/reviews/1/decisions/").status_code == 405


def test_bodies_that_are_not_json_objects(api_for, workspace, marketer, campaign, settings):
    api = api_for(marketer, workspace)
    form = api.post("/api/v1/drafts/", raw=b"title=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    problem(form)
    assert problem(api.post("/api/v1/drafts/", raw=b"{not json"))["status"] == 400
    assert problem(api.post("/api/v1/drafts/", raw=b"[1, 2]"))["status"] == 400
    settings.IMPRIMATUR_API_MAX_BODY_BYTES = 1000
    huge = api.post("/api/v1/drafts/", {**_draft_body(campaign), "text": "x" * 2000})
    assert huge.status_code == 413
    problem(huge)


def test_unknown_fields_wrong_types_and_nul_are_refused(api_for, workspace, marketer, campaign):
    api = api_for(marketer, workspace)
    unknown = api.post("/api/v1/drafts/", {**_draft_body(campaign), "colour": "red"})
    assert unknown.status_code == 400
    assert problem(unknown)["errors"] == {"colour": ["This field is not part of the request."]}
    wrong = api.post("/api/v1/drafts/", {**_draft_body(campaign), "campaign": "spring"})
    assert wrong.status_code == 400
    assert "campaign" in problem(wrong)["errors"]
    nul = api.post("/api/v1/drafts/", {**_draft_body(campaign), "variables": {"a": "b\u0000"}})
    assert nul.status_code == 400
    assert "variables" in problem(nul)["errors"]
    assert PromptDraft.objects.count() == 0


def test_refusals_carry_the_pages_words(api_for, workspace, marketer, campaign, offline_deployment):
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=marketer)
    f.DraftVersionFactory(draft=draft, created_by=marketer, number=1, text="A {product} on a table")
    response = api_for(marketer, workspace).post("/api/v1/jobs/", {"draft": draft.pk, "width": 512, "height": 512})
    assert response.status_code == 422
    assert problem(response)["detail"] == "Fill in every template variable first: product."


# --- query counts ---------------------------------------------------------------------------------------------------


def _grow(workspace, maker, judge, campaign, n):
    for _ in range(n):
        _publication(workspace, maker, judge, campaign, None, locale="en")
    from studio.runs.models import ProductionRun

    version = f.DraftVersionFactory(draft=f.PromptDraftFactory(campaign=campaign, created_by=maker), created_by=maker)
    deployment = f.DeploymentFactory(workspace=workspace)
    for _ in range(n):
        ProductionRun.objects.create(
            workspace=workspace,
            campaign=campaign,
            source_version=version,
            deployment=deployment,
            variants_per_cell=1,
            created_by=maker,
        )


@pytest.mark.parametrize(
    "path", ["campaigns", "drafts", "jobs", "variants", "reviews", "publications", "runs", "deployments"]
)
def test_list_query_counts_do_not_grow(api_for, workspace, marketer, reviewer, campaign, path):
    api = api_for(marketer, workspace, ["read"])
    api.get(f"/api/v1/{path}/")  # the key's first use writes last_used_at; measure the steady state
    counts = []
    for n in (2, 6):
        _grow(workspace, marketer, reviewer, f.CampaignFactory(workspace=workspace), n)
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(f"/api/v1/{path}/")
        assert response.status_code == 200
        assert response.json()["results"]
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8


def test_unknown_query_parameters_and_bad_limits_are_400(api_for, workspace, marketer):
    api = api_for(marketer, workspace, ["read"])
    unknown = api.get("/api/v1/publications/", campain="3")
    assert unknown.status_code == 400
    assert "campain" in problem(unknown)["errors"]
    assert api.get("/api/v1/campaigns/1/", cursor="x").status_code == 400
    for limit in ("0", "201", "-1", "2.5", "abc"):
        assert api.get("/api/v1/campaigns/", limit=limit).status_code == 400
    assert api.get("/api/v1/jobs/", draft="").status_code == 400
    assert api.get("/api/v1/campaigns/", limit="200").status_code == 200
