"""The pure library: certificate checks, the XMP packet and c2pa signing/reading, without the database."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from studio.lib.provenance import (
    TRAINED_ALGORITHMIC_MEDIA,
    CertificateProblem,
    SignerConfig,
    certificate_facts,
    digital_source_type_in,
    manifest_read,
    manifest_sign,
    with_digital_source_type,
)
from studio.lib.provenance.certificates import private_key_problem
from studio.lib.provenance.manifests import Ingredient, ManifestError
from tests.factories import png_bytes
from tests.provenance.certs import C2PA_CLAIM_SIGNING, DOCUMENT_SIGNING, EMAIL_PROTECTION, SERVER_AUTH, make_chain

NOW = dt.datetime.now(dt.UTC)


def _definition(actions):
    return {
        "claim_generator_info": [{"name": "Imprimatur test"}],
        "format": "image/png",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def _signer(chain):
    return SignerConfig(chain_pem=chain.chain_pem, key_pem=chain.key_pem, algorithm="es256")


CREATED = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]


def test_certificate_facts_of_a_good_chain():
    chain = make_chain(organization="Acme")
    facts = certificate_facts(chain.chain_pem)
    assert facts.subject == "Acme Content Credentials"
    assert facts.organization == "Acme"
    assert facts.issuer == "Acme Test Root"
    assert facts.algorithm == "es256"
    assert facts.chain_length == 2
    assert len(facts.fingerprint_sha256) == 64
    assert facts.validity_problem(NOW) is None
    assert private_key_problem(chain.chain_pem, chain.key_pem) is None


@pytest.mark.parametrize("eku", [EMAIL_PROTECTION, DOCUMENT_SIGNING, C2PA_CLAIM_SIGNING])
def test_the_c2pa_signer_ekus_are_accepted_and_sign(eku):
    chain = make_chain(eku=eku)
    assert certificate_facts(chain.chain_pem).algorithm == "es256"
    signed = manifest_sign(definition=_definition(CREATED), data=png_bytes(), mime="image/png", signer=_signer(chain))
    assert manifest_read(signed, "image/png").state == "Valid"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"eku": SERVER_AUTH}, "extended key usage does not allow"),
        ({"eku": None}, "no extended key usage"),
        ({"digital_signature": False}, "does not allow digital signatures"),
        ({"self_signed": True}, "self-signed"),
    ],
)
def test_certificates_c2pa_would_refuse_are_refused_first(kwargs, words):
    with pytest.raises(CertificateProblem, match=words):
        certificate_facts(make_chain(**kwargs).chain_pem)


def test_not_pem_and_wrong_order_are_refused():
    with pytest.raises(CertificateProblem, match="not a PEM"):
        certificate_facts("hello")
    chain = make_chain()
    leaf, root = chain.chain_pem.split("-----END CERTIFICATE-----\n")[:2]
    with pytest.raises(CertificateProblem, match="certificate authority"):
        certificate_facts(root + "-----END CERTIFICATE-----\n" + leaf + "-----END CERTIFICATE-----\n")
    other = make_chain()
    with pytest.raises(CertificateProblem, match="out of order"):
        certificate_facts(leaf + "-----END CERTIFICATE-----\n" + other.root_pem)


def test_expiry_and_not_yet_valid():
    expired = certificate_facts(
        make_chain(not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=2)).chain_pem
    )
    assert expired.validity_problem(NOW) == (
        f"The Content Credentials certificate expired on {(NOW - dt.timedelta(days=2)):%Y-%m-%d}"
    )
    future = certificate_facts(make_chain(not_before=NOW + dt.timedelta(days=3)).chain_pem)
    assert "not valid until" in future.validity_problem(NOW)


def test_a_key_of_another_certificate_or_not_a_key():
    chain = make_chain()
    assert private_key_problem(chain.chain_pem, make_chain().key_pem) == (
        "The private key does not belong to the signing certificate."
    )
    assert "does not hold a PEM private key" in private_key_problem(chain.chain_pem, "nonsense")


def test_xmp_packet_in_png_keeps_the_pixels():
    data = png_bytes(20, 10)
    marked = with_digital_source_type(
        data, file_format="png", digital_source_type=TRAINED_ALGORITHMIC_MEDIA, publisher="Acme & Co"
    )
    assert digital_source_type_in(marked) == TRAINED_ALGORITHMIC_MEDIA
    assert digital_source_type_in(data) is None
    with Image.open(io.BytesIO(marked)) as image, Image.open(io.BytesIO(data)) as original:
        image.load()
        assert image.tobytes() == original.tobytes()
        assert "Acme &amp; Co" in image.info["XML:com.adobe.xmp"]
    again = with_digital_source_type(marked, file_format="png", digital_source_type="x", publisher="Acme")
    assert again.count(b"XML:com.adobe.xmp") == 1
    assert digital_source_type_in(again) == "x"


def test_xmp_packet_in_jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "JPEG")
    marked = with_digital_source_type(
        buffer.getvalue(), file_format="jpeg", digital_source_type=TRAINED_ALGORITHMIC_MEDIA, publisher="Acme"
    )
    assert digital_source_type_in(marked) == TRAINED_ALGORITHMIC_MEDIA
    with Image.open(io.BytesIO(marked)) as image:
        image.load()
        assert image.size == (16, 16)


def test_sign_and_read_back_with_the_ingredient_chain():
    chain = _signer(make_chain())
    source = manifest_sign(definition=_definition(CREATED), data=png_bytes(), mime="image/png", signer=chain)
    rendition = with_digital_source_type(
        png_bytes(30, 30), file_format="png", digital_source_type=TRAINED_ALGORITHMIC_MEDIA, publisher="Acme"
    )
    opened = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["source"]}}, {"action": "c2pa.resized"}]
    signed = manifest_sign(
        definition=_definition(opened),
        data=rendition,
        mime="image/png",
        signer=chain,
        ingredient=Ingredient(data=source, mime="image/png", title="source.png"),
    )
    report = manifest_read(signed, "image/png")
    assert report.state == "Valid"  # the test root is on nobody's trust list
    assert report.hash_bound
    assert [a["action"] for a in report.actions()] == ["c2pa.opened", "c2pa.resized"]
    chain_labels = report.chain()
    assert len(chain_labels) == 2
    assert report.actions(chain_labels[1])[0]["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert digital_source_type_in(signed) == TRAINED_ALGORITHMIC_MEDIA  # c2pa kept the XMP chunk


def test_trusted_with_the_root_as_anchor_and_tampering_breaks_the_binding():
    test_chain = make_chain()
    signed = manifest_sign(
        definition=_definition(CREATED), data=png_bytes(40, 40), mime="image/png", signer=_signer(test_chain)
    )
    assert manifest_read(signed, "image/png", trust_anchors=test_chain.root_pem).state == "Trusted"
    at = signed.find(b"IDAT") + 12
    tampered = signed[:at] + bytes([signed[at] ^ 0xFF]) + signed[at + 1 :]
    report = manifest_read(tampered, "image/png", trust_anchors=test_chain.root_pem)
    assert report.state == "Invalid"
    assert not report.hash_bound
    assert "assertion.dataHash.mismatch" in report.failure_codes


def test_no_manifest_reads_as_none_and_an_expired_signer_is_refused_by_c2pa_too():
    assert manifest_read(png_bytes(), "image/png") is None
    expired = make_chain(not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=2))
    with pytest.raises(ManifestError, match="not valid"):
        manifest_sign(definition=_definition(CREATED), data=png_bytes(), mime="image/png", signer=_signer(expired))
