"""``provenance_sign``: what the manifest says for each kind of source, verified with c2pa's Reader
(validation, the ingredient chain down to the source's own manifest, the hash binding, tampering), the
XMP digital source type, and the refusals at publish time."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

import pytest
from django.core.files.storage import default_storage

from studio.lib.provenance import ALGORITHMIC_MEDIA, TRAINED_ALGORITHMIC_MEDIA, digital_source_type_in, manifest_read
from studio.lib.provenance.certificates import certificate_facts
from studio.provenance.errors import CertificateExpired, SigningUnavailable
from studio.provenance.services import SourceOrigin, provenance_sign
from tests.factories import png_bytes
from tests.provenance.certs import make_chain
from tests.provenance.conftest import KEY_ENV, azure_signed

pytestmark = pytest.mark.django_db

MODEL = SourceOrigin(offline=False, model="gpt-image-1", provider="Azure OpenAI", variant_id=7)
OFFLINE = SourceOrigin(offline=True, model="offline", variant_id=8)
RENDITION = (120, 60)


def _rendition():
    return png_bytes(*RENDITION, (30, 120, 200))


def _sign(workspace, source, origin=MODEL, **kwargs):
    return provenance_sign(workspace=workspace, source=source, rendition=_rendition(), origin=origin, **kwargs)


def _actions(report, label=None):
    return [a["action"] for a in report.actions(label)]


def test_a_source_with_a_manifest_becomes_the_ingredient_and_the_chain_reaches_it(
    workspace, credential, chain, source_png
):
    source, azure = azure_signed(source_png)
    source_label = manifest_read(source, "image/png").active_label
    signed = _sign(workspace, source)

    report = manifest_read(signed.data, "image/png", trust_anchors=chain.root_pem + azure.root_pem)
    assert report.state == "Trusted"  # signature, bindings and both signers check out against the test roots
    assert report.hash_bound
    assert _actions(report) == ["c2pa.opened", "c2pa.cropped", "c2pa.resized"]
    labels = report.chain()
    assert labels == [report.active_label, source_label]  # the ingredient chain reaches the source's manifest
    ingredient = report.active["ingredients"][0]
    assert ingredient["relationship"] == "parentOf"
    assert ingredient["active_manifest"] == source_label
    created = report.actions(source_label)[0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    publisher = report.assertion("stds.schema-org.CreativeWork")["publisher"][0]["name"]
    assert publisher == workspace.name
    assert report.active["signature_info"]["common_name"] == "Acme Content Credentials"

    summary = signed.summary
    assert summary["status"] == "signed"
    assert summary["validation_state"] == "Valid"  # our own check: the test root is on no public trust list
    assert summary["hash_bound"] is True
    assert summary["source_manifest"]["label"] == source_label
    assert summary["source_manifest"]["claim_generator"] == "Azure OpenAI ImageGen"
    assert [step["action"] for step in summary["history"]] == [
        "c2pa.created",
        "c2pa.opened",
        "c2pa.cropped",
        "c2pa.resized",
    ]
    assert summary["publisher"] == workspace.name
    assert summary["signer"]["fingerprint_sha256"] == credential.fingerprint_sha256
    with default_storage.open(summary["manifest_file"], "rb") as stored:
        assert b'"active_manifest"' in stored.read()


def test_a_tampered_rendition_fails_validation(workspace, credential, chain, source_png):
    signed = _sign(workspace, azure_signed(source_png)[0]).data
    at = signed.find(b"IDAT") + 12
    tampered = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]
    report = manifest_read(tampered, "image/png", trust_anchors=chain.root_pem)
    assert report.state == "Invalid"
    assert not report.hash_bound
    assert "assertion.dataHash.mismatch" in report.failure_codes


def test_a_source_without_a_manifest_is_still_signed_with_the_whole_story(workspace, credential, source_png):
    edit = SourceOrigin(offline=False, model="gpt-image-1", operation="edit", variant_id=9)
    signed = _sign(workspace, source_png, origin=edit)
    report = manifest_read(signed.data, "image/png")
    assert report.state == "Valid"
    assert report.hash_bound
    assert report.chain() == [report.active_label]
    assert _actions(report) == ["c2pa.created", "c2pa.edited", "c2pa.cropped", "c2pa.resized"]
    created, edited = report.actions()[:2]
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert created["softwareAgent"]["name"] == "gpt-image-1"
    assert edited["description"] == "Edited by the image model gpt-image-1"
    assert signed.summary["source_manifest"] is None
    assert signed.summary["source_note"] == "The source image carried no Content Credentials."
    assert digital_source_type_in(signed.data) == TRAINED_ALGORITHMIC_MEDIA


def _with_garbled_manifest(png: bytes) -> bytes:
    """``png`` with the body of its C2PA chunk (caBX) overwritten, the chunk's CRC fixed so it stays a PNG."""
    at = png.find(b"caBX") - 4
    (length,) = struct.unpack(">I", png[at : at + 4])
    body = b"\x00" * length
    chunk = png[at : at + 8] + body + struct.pack(">I", zlib.crc32(b"caBX" + body))
    return png[:at] + chunk + png[at + 12 + length :]


def test_an_unreadable_source_manifest_is_noted_and_not_carried(workspace, credential, source_png):
    broken = _with_garbled_manifest(azure_signed(source_png)[0])
    signed = _sign(workspace, broken)
    report = manifest_read(signed.data, "image/png")
    assert report.state == "Valid"
    assert report.chain() == [report.active_label]
    assert _actions(report)[0] == "c2pa.created"
    assert signed.summary["source_manifest"] is None
    assert signed.summary["source_note"] == (
        "The source image's Content Credentials could not be read, so they are not carried over."
    )


def test_offline_images_say_so(workspace, credential, source_png):
    signed = _sign(workspace, source_png, origin=OFFLINE)
    report = manifest_read(signed.data, "image/png")
    created = report.actions()[0]
    assert created["digitalSourceType"] == ALGORITHMIC_MEDIA
    assert created["softwareAgent"]["name"] == "Imprimatur offline renderer"
    assert "offline renderer" in created["description"]
    assert "no image model" in created["description"]
    assert report.assertion("org.imprimatur.publication")["origin"] == "offline renderer"
    assert digital_source_type_in(signed.data) == ALGORITHMIC_MEDIA
    assert signed.summary["origin"] == "offline"
    assert "offline renderer" in signed.summary["digital_source_label"]


def test_crop_and_resize_follow_the_renderers_box(workspace, credential):
    source = png_bytes(240, 120)  # the rendition's aspect: only a resize
    report = manifest_read(_sign(workspace, source).data, "image/png")
    assert _actions(report) == ["c2pa.created", "c2pa.resized"]
    same = png_bytes(*RENDITION)  # the same pixels: neither
    assert _actions(manifest_read(_sign(workspace, same).data, "image/png")) == ["c2pa.created"]
    boxed = _sign(workspace, png_bytes(640, 480), crop_box=(100, 0, 580, 240), focal=(0.5, 0.2))
    cropped = manifest_read(boxed.data, "image/png").actions()[1]
    assert cropped["description"] == "Cropped from 640×480 to 480×240 around the focal point for the 120×60 format"


def test_without_a_certificate_the_rendition_is_unsigned_and_says_so(workspace, source_png):
    signed = _sign(workspace, source_png)
    assert manifest_read(signed.data, "image/png") is None
    assert digital_source_type_in(signed.data) == TRAINED_ALGORITHMIC_MEDIA
    assert signed.summary["status"] == "unsigned"
    assert signed.summary["reason"] == "no_certificate"
    assert signed.summary["message"].startswith("Unsigned: no Content Credentials certificate is configured for Acme.")


def test_an_expired_certificate_refuses_at_publish_time(workspace, credential, source_png):
    now = dt.datetime.now(dt.UTC)
    expired = make_chain(not_before=now - dt.timedelta(days=60), not_after=now - dt.timedelta(days=3))
    credential.certificate_chain = expired.chain_pem  # as it would be once the clock passes its end date
    credential.save()
    day = certificate_facts(expired.chain_pem).not_valid_after
    with pytest.raises(CertificateExpired) as caught:
        _sign(workspace, source_png)
    assert caught.value.message == (
        f"The Content Credentials certificate expired on {day:%Y-%m-%d}; ask a workspace admin to upload a new one."
    )


def test_a_certificate_checked_later_than_its_end_is_refused(workspace, credential, source_png):
    later = credential.not_valid_after + dt.timedelta(days=1)
    with pytest.raises(CertificateExpired, match="ask a workspace admin to upload a new one"):
        _sign(workspace, source_png, now=later)


def test_a_missing_key_variable_refuses_with_its_name(workspace, credential, source_png, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SigningUnavailable, match=KEY_ENV):
        _sign(workspace, source_png)
