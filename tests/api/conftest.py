"""API test helpers: keys for the usual people, and a client that sends them."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from approvals.api.keys import apikey_create

ALL_SCOPES = ["read", "generate", "review", "publish"]


def key_for(user, workspace, scopes=ALL_SCOPES, **extra) -> str:
    return apikey_create(actor=None, workspace=workspace, user=user, name="test", scopes=scopes, **extra).key


class Api:
    """A DRF test client with a bearer key; ``post`` sends JSON."""

    def __init__(self, key: str | None) -> None:
        self.client = APIClient()
        if key:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path: str, **params):
        return self.client.get(path, params)

    def post(self, path: str, body=None, *, idempotency_key: str | None = None, raw: bytes | None = None, **extra):
        headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.generic(
            "POST", path, data, content_type=extra.pop("content_type", "application/json"), **headers, **extra
        )


@pytest.fixture
def api_for():
    def make(user, workspace, scopes=ALL_SCOPES, **extra) -> Api:
        return Api(key_for(user, workspace, scopes, **extra))

    return make


def problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == response.status_code
    return body
