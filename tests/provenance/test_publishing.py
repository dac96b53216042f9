"""Publishing signs every rendition: the stored file carries a manifest that validates and reaches the
source's own; an expired certificate refuses (recorded, nothing published); without a certificate the
publication is unsigned and its page says so; the audit pack holds the manifests."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from approvals.publishing import services as publishing
from approvals.publishing.models import Publication, PublicationStatus
from studio.core.models import AuditEvent
from studio.generation import models as sm
from studio.lib.provenance import ALGORITHMIC_MEDIA, digital_source_type_in, manifest_read
from studio.provenance.errors import CertificateExpired
from tests.provenance.certs import make_chain
from tests.provenance.conftest import approve, azure_signed, make_variant

pytestmark = pytest.mark.django_db


def _stored(publication) -> bytes:
    with default_storage.open(publication.file.name, "rb") as handle:
        return handle.read()


@pytest.fixture
def azure_variant(workspace, marketer, reviewer, campaign, source_png):
    signed, _azure = azure_signed(source_png)
    variant = make_variant(workspace, marketer=marketer, campaign=campaign, image=signed)
    return approve(variant, marketer=marketer, reviewer=reviewer)


def test_the_published_file_is_signed_and_reaches_the_azure_manifest(azure_variant, marketer, ad_format, credential):
    with azure_variant.image.open("rb") as handle:
        source_label = manifest_read(handle.read(), "image/png").active_label
    publication = publishing.publication_create(actor=marketer, variant=azure_variant, target_format=ad_format)
    data = _stored(publication)
    assert publication.sha256 == hashlib.sha256(data).hexdigest()
    report = manifest_read(data, "image/png")
    assert report.state == "Valid"
    assert report.hash_bound
    assert report.chain()[-1] == source_label
    assert [a["action"] for a in report.actions()][0] == "c2pa.opened"
    publication.refresh_from_db()
    assert publication.provenance["status"] == "signed"
    assert publication.provenance["manifest_label"] == report.active_label
    assert publication.provenance["source_manifest"]["label"] == source_label


def test_an_offline_variant_without_a_manifest_is_signed_as_offline(
    workspace, marketer, reviewer, campaign, ad_format, credential
):
    variant = approve(
        make_variant(workspace, marketer=marketer, campaign=campaign, provider=sm.ProviderKind.OFFLINE),
        marketer=marketer,
        reviewer=reviewer,
    )
    publication = publishing.publication_create(actor=marketer, variant=variant, target_format=ad_format)
    data = _stored(publication)
    report = manifest_read(data, "image/png")
    assert report.actions()[0]["digitalSourceType"] == ALGORITHMIC_MEDIA
    assert digital_source_type_in(data) == ALGORITHMIC_MEDIA
    assert publication.provenance["origin"] == "offline"


def test_an_expired_certificate_refuses_the_publish_and_records_why(
    azure_variant, marketer, ad_format, credential, monkeypatch
):

    now = dt.datetime.now(dt.UTC)
    expired = make_chain(not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=3))
    credential.certificate_chain = expired.chain_pem
    credential.save()
    with pytest.raises(CertificateExpired, match="ask a workspace admin to upload a new one"):
        publishing.publication_create(actor=marketer, variant=azure_variant, target_format=ad_format)
    assert not Publication.objects.filter(status=PublicationStatus.PUBLISHED).exists()
    refused = AuditEvent.objects.filter(action="approvals.publication.refused").order_by("-seq").first()
    assert "certificate expired on" in refused.data["reason"]


def test_without_a_certificate_the_publication_is_unsigned_and_the_page_says_so(
    client, azure_variant, marketer, ws_admin, ad_format
):
    publication = publishing.publication_create(actor=marketer, variant=azure_variant, target_format=ad_format)
    assert publication.provenance["status"] == "unsigned"
    url = reverse("publishing:publication_detail", kwargs={"slug": "acme", "pk": publication.pk})
    client.force_login(marketer)
    page = client.get(url).content.decode()
    assert "Unsigned" in page
    assert "no Content Credentials certificate is configured for Acme" in page
    assert "Ask a workspace admin" in page
    client.force_login(ws_admin)
    page = client.get(url).content.decode()
    assert reverse("provenance:credentials", kwargs={"slug": "acme"}) in page


def test_the_publication_page_shows_the_signed_summary(client, azure_variant, marketer, ad_format, credential):
    publication = publishing.publication_create(actor=marketer, variant=azure_variant, target_format=ad_format)
    client.force_login(marketer)
    page = client.get(reverse("publishing:publication_detail", kwargs={"slug": "acme", "pk": publication.pk}))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Signed" in text
    assert "Acme Content Credentials" in text
    assert "Azure OpenAI ImageGen" in text
    assert "Made by a generative AI model" in text
    assert publication.provenance["manifest_label"] in text


def test_the_audit_pack_holds_the_manifest(client, compliance, azure_variant, marketer, ad_format, credential):
    publication = publishing.publication_create(actor=marketer, variant=azure_variant, target_format=ad_format)
    client.force_login(compliance)
    response = client.get(reverse("compliance:audit_pack", args=["acme", azure_variant.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    name = f"publications/variant-{azure_variant.pk}-publication-{publication.pk}.c2pa.json"
    store = json.loads(archive.read(name))
    assert store["active_manifest"] == publication.provenance["manifest_label"]
    entry = {e["path"]: e for e in json.loads(archive.read("manifest.json"))["files"]}[name]
    assert entry["matches_record"] is True
