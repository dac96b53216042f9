"""Ids beyond 64 bits answer 404 on every URL family instead of a 500 (SQLite's OverflowError)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import resolve
from django.urls.exceptions import Resolver404

from studio.lib.ids import parse_id
from studio.lib.urlconverters import MAX_ID, IdConverter
from tests import factories as f

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # > 2**63 - 1

URLS = [
    f"/w/acme/variants/{HUGE}/",
    f"/w/acme/drafts/{HUGE}/",
    f"/w/acme/jobs/{HUGE}/",
    f"/w/acme/drafts/1/versions/{HUGE}/diff/",
    f"/w/acme/reviews/{HUGE}/",
    f"/w/acme/reviews/1/stages/{HUGE}/decide/",
    f"/w/acme/reviews/submit/{HUGE}/",
    f"/reviews/{HUGE}/",
    f"/w/acme/publications/{HUGE}/",
    f"/w/acme/publications/progress/{HUGE}/1/",
    f"/reviews/publications/{HUGE}/",
    f"/compliance/variants/{HUGE}/",
    f"/compliance/variants/{HUGE}/trail.json",
]


@pytest.mark.parametrize("url", URLS)
def test_an_id_beyond_64_bits_is_a_404_not_a_500(url, workspace, marketer):
    client = Client(raise_request_exception=False)
    client.force_login(marketer)
    assert client.get(url).status_code == 404
    with pytest.raises(Resolver404):
        resolve(url)


def test_the_largest_64_bit_id_still_resolves():
    assert resolve(f"/w/acme/variants/{MAX_ID}/").kwargs["pk"] == MAX_ID
    with pytest.raises(ValueError, match="64 bits"):
        IdConverter().to_python(str(MAX_ID + 1))


# --- ids in POST bodies and query strings ----------------------------------------------------------------
# Not paths, so the converter never sees them: each goes through studio.lib.ids (parse_id, parse_ids,
# IdModelMultipleChoiceField) before any query. "²" passes str.isdigit() but int() refuses it.

ODD = [HUGE, "²", "-" + HUGE, "0"]


def _messages(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("value", ODD)
def test_marking_inbox_items_read_with_an_impossible_id_marks_nothing(value, marketer):
    response = _client(marketer).post("/inbox/read/", {"notification": [value]})
    assert response.status_code == 302
    assert "Marked 0 notifications as read." in _messages(response)


@pytest.mark.parametrize("value", ODD)
def test_bulk_approve_with_an_impossible_stage_id_says_the_selection_is_out_of_date(value, reviewer):
    response = _client(reviewer).post("/reviews/bulk-approve/", {"items": [f"{value}:{'a' * 64}"]})
    assert response.status_code == 302
    assert "The selection is out of date" in _messages(response)


@pytest.mark.parametrize("value", ODD)
def test_an_edit_with_an_impossible_reference_says_it_no_longer_exists(value, workspace, marketer, campaign):
    from tests.approvals.factories_reviews import variant_for

    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    response = _client(marketer).post(
        f"/w/{workspace.slug}/variants/{variant.pk}/edit/",
        {"instruction": "Brighter", "reference_variants": [value]},
    )
    assert response.status_code == 422
    assert "no longer exists" in response.content.decode()


@pytest.mark.parametrize("value", ODD)
def test_a_run_with_an_impossible_format_says_it_no_longer_exists(
    value, workspace, marketer, campaign, offline_deployment
):
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=marketer)
    f.DraftVersionFactory(draft=draft, created_by=marketer)
    data = {"draft": draft.pk, "formats": [value], "n": 1, "deployment": offline_deployment.pk, "quality": "low"}
    response = _client(marketer).post(f"/w/{workspace.slug}/campaigns/{campaign.slug}/runs/new/", data)
    assert response.status_code == 422
    assert "no longer exists" in response.content.decode()


@pytest.mark.parametrize("value", ODD)
def test_impossible_ids_in_query_strings_are_not_found_or_ignored(value, workspace, marketer, campaign):
    from tests.approvals.factories_reviews import variant_for

    variant = variant_for(workspace, creator=marketer, campaign=campaign)
    client = _client(marketer)
    assert client.get(f"/w/{workspace.slug}/variants/{variant.pk}/compare/", {"with": value}).status_code == 404
    assert client.get(f"/w/{workspace.slug}/variants/{variant.pk}/", {"fix_comment": value}).status_code == 200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        (HUGE, None),
        ("²", None),
        ("-1", None),
        ("0", None),
        ("", None),
        (None, None),
        (" 7 ", 7),
        (7, 7),
        (True, None),
        ("1e3", None),
        ("٣", None),
    ],
)
def test_parse_id_accepts_only_what_a_primary_key_can_hold(raw, expected):
    assert parse_id(raw) == expected
