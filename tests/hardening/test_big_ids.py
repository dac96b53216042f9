"""Ids beyond 64 bits answer 404 on every URL family instead of a 500 (SQLite's OverflowError)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import resolve
from django.urls.exceptions import Resolver404

from studio.lib.urlconverters import MAX_ID, IdConverter

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
