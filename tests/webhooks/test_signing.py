"""Standard Webhooks signatures, verified with the ``standardwebhooks`` package; the secret at rest."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from approvals.webhooks import signing
from approvals.webhooks.models import WebhookEndpoint
from studio.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_signature_verifies_with_the_standard_webhooks_package():
    secret = signing.secret_generate()
    assert secret.startswith("whsec_")
    body = json.dumps({"type": "publication.created", "data": {"id": 1}}).encode()
    headers = signing.signed_headers(secret=secret, msg_id="msg_abc", timestamp=int(time.time()), body=body)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == {"type": "publication.created", "data": {"id": 1}}


def test_tampered_body_or_other_secret_fails_verification():
    secret = signing.secret_generate()
    body = b'{"type":"publication.created"}'
    headers = signing.signed_headers(secret=secret, msg_id="msg_abc", timestamp=int(time.time()), body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"type":"publication.retracted"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_generate()).verify(body, headers)


def test_old_timestamp_is_rejected_by_the_receiver_library():
    secret = signing.secret_generate()
    body = b"{}"
    headers = signing.signed_headers(secret=secret, msg_id="msg_old", timestamp=int(time.time()) - 3600, body=body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_secret_is_stored_encrypted_and_never_audited(endpoint_with_secret, workspace):
    endpoint, secret = endpoint_with_secret
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert secret not in stored.secret_encrypted
    assert signing.secret_decrypt(stored.secret_encrypted) == secret
    assert stored.secret_hint == secret[:10] + "…"
    for event in AuditEvent.objects.filter(workspace=workspace):
        assert secret not in json.dumps(event.data)
        assert secret.removeprefix("whsec_") not in json.dumps(event.data)


def test_secret_unreadable_after_secret_key_change(settings):
    token = signing.secret_encrypt(signing.secret_generate())
    settings.SECRET_KEY = "another-key-" + "x" * 40
    with pytest.raises(signing.SecretUnreadable):
        signing.secret_decrypt(token)
