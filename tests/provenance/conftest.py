"""Fixtures for Content Credentials: a throwaway chain, the key in an IMPRIMATUR_KEY_ variable, a
workspace certificate set through the service, and approved variants (optionally carrying a manifest
like the ones Azure attaches)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from approvals.reviews import services as review_services
from approvals.reviews.models import StageKind
from studio.generation import models as sm
from studio.lib.provenance import TRAINED_ALGORITHMIC_MEDIA, SignerConfig, manifest_sign
from studio.provenance.services import signing_credential_save
from tests.approvals.factories_reviews import variant_for
from tests.factories import png_bytes
from tests.provenance.certs import make_chain

KEY_ENV = "IMPRIMATUR_KEY_C2PA_TEST"


@pytest.fixture
def chain():
    return make_chain(organization="Acme")


@pytest.fixture
def credential(workspace, ws_admin, chain, monkeypatch):
    monkeypatch.setenv(KEY_ENV, chain.key_pem)
    return signing_credential_save(
        actor=ws_admin, workspace=workspace, certificate_chain=chain.chain_pem, private_key_env=KEY_ENV
    )


def azure_signed(data: bytes) -> tuple[bytes, object]:
    """``data`` with a manifest like Azure's: created by a trained model, signed by another party."""
    azure = make_chain(organization="Microsoft Azure OpenAI (test)")
    definition = {
        "claim_generator_info": [{"name": "Azure OpenAI ImageGen"}],
        "format": "image/png",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]},
            }
        ],
    }
    signer = SignerConfig(chain_pem=azure.chain_pem, key_pem=azure.key_pem)
    return manifest_sign(definition=definition, data=data, mime="image/png", signer=signer), azure


def approve(variant, *, marketer, reviewer):
    review = review_services.variant_submit(actor=marketer, variant=variant)
    review_services.review_decide(
        actor=reviewer, stage=review.stages.get(kind=StageKind.BRAND), outcome="approve", expected_sha256=variant.sha256
    )
    variant.refresh_from_db()
    return variant


def make_variant(
    workspace, *, marketer, campaign, image: bytes | None = None, provider=sm.ProviderKind.AZURE_OPENAI, **extra
):
    """A ready 1216x640 variant (within the LinkedIn format's aspect tolerance) made by ``provider`` (Azure
    by default), its image replaced by ``image``."""
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=1216, height=640, **extra)
    deployment = variant.job.deployment
    deployment.provider = provider
    deployment.model = "gpt-image-1" if provider != sm.ProviderKind.OFFLINE else "offline"
    deployment.endpoint = "https://example.openai.azure.com" if provider != sm.ProviderKind.OFFLINE else ""
    deployment.save()
    if image is not None:
        variant.image.save("variant.png", ContentFile(image), save=False)
        variant.sha256 = hashlib.sha256(image).hexdigest()
        variant.save()
    return variant


@pytest.fixture
def source_png():
    return png_bytes(1216, 640, (30, 120, 200))
