"""Content Credentials writes: an admin sets or removes the workspace's signing certificate, and every
published rendition is signed (``provenance_sign``).

Choice without a certificate: the rendition is still published, with the IPTC/XMP digital source type
written into it and a summary that says "unsigned: no certificate configured" (the publication page
shows it and links admins to the certificate page). Publishing is not held hostage to a setting most
workspaces start without. A certificate that is configured but unusable (expired, not yet valid, its key
variable unset) refuses the publish instead: the admin chose signing, so nothing goes out unsigned behind
their back.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from studio.core.models import Workspace
from studio.core.permissions import RoleRequired, can_administer
from studio.lib.imaging.formats import PNG, by_name, sniff
from studio.lib.provenance import (
    ALGORITHMIC_MEDIA,
    TRAINED_ALGORITHMIC_MEDIA,
    CertificateProblem,
    SignerConfig,
    certificate_facts,
    manifest_read,
    manifest_sign,
    with_digital_source_type,
)
from studio.lib.provenance.certificates import private_key_problem
from studio.lib.provenance.manifests import Ingredient, ManifestError, ManifestReport
from studio.provenance import events
from studio.provenance.errors import CertificateExpired, CredentialRejected, SigningUnavailable
from studio.provenance.keys import key_env_problem, key_from_env
from studio.provenance.manifest_actions import (
    CLAIM_GENERATOR,
    SourceOrigin,
    created_action,
    edited_action,
    manifest_definition,
    rendition_actions,
)
from studio.provenance.models import SigningCredential
from studio.provenance.summaries import signed_summary, unsigned_summary

__all__ = [
    "SignedRendition",
    "SourceOrigin",
    "provenance_sign",
    "signing_credential_remove",
    "signing_credential_save",
]


@dataclass(frozen=True)
class SignedRendition:
    data: bytes = field(repr=False)
    summary: dict[str, Any]


# --- the workspace's certificate -----------------------------------------------------------------


def _require_admin(actor, workspace: Workspace) -> None:
    if not can_administer(actor, workspace):
        raise RoleRequired(
            f"Only a workspace admin can change the Content Credentials certificate of {workspace.name}."
        )


def _trial_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 255, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def _checked(*, certificate_chain: str, private_key_env: str, now: datetime):
    """The chain's facts once everything c2pa needs is in place, else ``CredentialRejected``."""
    if problem := key_env_problem(private_key_env):
        raise CredentialRejected(problem, field_errors={"private_key_env": problem})
    try:
        facts = certificate_facts(certificate_chain)
    except CertificateProblem as exc:
        raise CredentialRejected(exc.message, field_errors={"certificate": exc.message}) from exc
    if problem := facts.validity_problem(now):
        message = f"{problem}; upload a current certificate."
        raise CredentialRejected(message, field_errors={"certificate": message})
    key_pem = key_from_env(private_key_env)
    if key_pem is None:
        message = (
            f"{private_key_env} is not set on this server: ask the operator to put the PEM private key in it, "
            "then save again."
        )
        raise CredentialRejected(message, field_errors={"private_key_env": message})
    if problem := private_key_problem(certificate_chain, key_pem):
        raise CredentialRejected(problem, field_errors={"private_key_env": problem})
    signer = SignerConfig(chain_pem=certificate_chain, key_pem=key_pem, algorithm=facts.algorithm)
    try:  # c2pa has the last word: sign a blank square now rather than fail the first publish
        manifest_sign(definition=_trial_definition(), data=_trial_png(), mime=PNG.mime, signer=signer)
    except ManifestError as exc:
        message = f"The Content Credentials library refused this certificate: {exc.message}"
        raise CredentialRejected(message, field_errors={"certificate": message}) from exc
    return facts


def _trial_definition() -> dict[str, Any]:
    return {
        "claim_generator_info": [CLAIM_GENERATOR],
        "format": PNG.mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": ALGORITHMIC_MEDIA}]},
            }
        ],
    }


def signing_credential_save(
    *, actor, workspace: Workspace, certificate_chain: str, private_key_env: str
) -> SigningCredential:
    """Set (or replace) the workspace's signing certificate, after checking that it can sign now.
    Audited; the key is read from the named variable to check it and never stored."""
    _require_admin(actor, workspace)
    certificate_chain = certificate_chain.strip() + "\n"
    private_key_env = private_key_env.strip()
    facts = _checked(certificate_chain=certificate_chain, private_key_env=private_key_env, now=timezone.now())
    with transaction.atomic():
        Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()
        previous = SigningCredential.objects.filter(workspace=workspace).first()
        credential = previous or SigningCredential(workspace=workspace)
        replaced = SigningCredential(fingerprint_sha256=previous.fingerprint_sha256) if previous is not None else None
        credential.certificate_chain = certificate_chain
        credential.private_key_env = private_key_env
        credential.algorithm = facts.algorithm
        credential.subject = facts.subject[:300]
        credential.organization = facts.organization[:300]
        credential.issuer = facts.issuer[:300]
        credential.serial_number = facts.serial_number[:80]
        credential.fingerprint_sha256 = facts.fingerprint_sha256
        credential.not_valid_before = facts.not_valid_before
        credential.not_valid_after = facts.not_valid_after
        credential.configured_by = actor
        credential.save()
        events.credential_configured(credential=credential, actor=actor, replaced=replaced)
    return credential


@transaction.atomic
def signing_credential_remove(*, actor, workspace: Workspace) -> None:
    """Remove the certificate: later publications are unsigned (and say so). Audited."""
    _require_admin(actor, workspace)
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()
    credential = SigningCredential.objects.filter(workspace=workspace).first()
    if credential is None:
        return
    events.credential_removed(credential=credential, actor=actor)
    credential.delete()


# --- signing a rendition -------------------------------------------------------------------------


def _source_report(source: bytes, mime: str) -> tuple[ManifestReport | None, str]:
    """The source's manifest (None when it has none, or none c2pa can parse) and a note for the summary."""
    try:
        report = manifest_read(source, mime)
    except ManifestError:
        return None, "The source image's Content Credentials could not be read, so they are not carried over."
    if report is None:
        return None, "The source image carried no Content Credentials."
    return report, ""


def _usable_signer(credential: SigningCredential, now: datetime) -> SignerConfig:
    facts = certificate_facts(credential.certificate_chain)
    if problem := facts.validity_problem(now):
        raise CertificateExpired(f"{problem}; ask a workspace admin to upload a new one.")
    key_pem = key_from_env(credential.private_key_env)
    if key_pem is None:
        raise SigningUnavailable(
            f"The Content Credentials signing key is not available ({credential.private_key_env} is not set on "
            "the server); ask a workspace admin or the operator to set it, then publish again."
        )
    return SignerConfig(chain_pem=credential.certificate_chain, key_pem=key_pem, algorithm=credential.algorithm)


def _manifest_file_save(*, workspace: Workspace, report: ManifestReport) -> tuple[str, str]:
    """The manifest store as JSON beside the media (for the audit pack), content-addressed; (name, sha256)."""
    body = json.dumps(report.store, indent=2, ensure_ascii=False, sort_keys=True).encode()
    sha = hashlib.sha256(body).hexdigest()
    name = f"provenance/{workspace.slug}/{sha[:2]}/{sha}.c2pa.json"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(body))
    return name, sha


def provenance_sign(
    *,
    workspace: Workspace,
    source: bytes,
    rendition: bytes,
    origin: SourceOrigin,
    file_format: str = "png",
    crop_box: tuple[int, int, int, int] | None = None,
    focal: tuple[float, float] = (0.5, 0.5),
    now: datetime | None = None,
    source_sha256: str | None = None,
) -> SignedRendition:
    """The rendition's bytes with the XMP digital source type and, when the workspace has a certificate,
    a signed C2PA manifest; plus the summary the publication keeps (``Publication.provenance``).
    ``crop_box`` and ``focal`` are the renderer's plan (they only word the crop and resize actions).

    With a source manifest (Azure's images carry one) it becomes the parent ingredient: the manifest says
    ``c2pa.opened`` (the model's ``c2pa.created`` lives in the source's manifest, as C2PA requires for an
    asset with a parent), then the crop and resize. Without one, this manifest tells the whole story:
    ``c2pa.created`` by the model (or the offline renderer), ``c2pa.edited`` for edits, crop, resize.
    Refuses (``CertificateExpired``, ``SigningUnavailable``) when a configured certificate cannot sign.
    ``source_sha256`` is the source's digest when the caller has it already (publishing checked it)."""
    now = now or timezone.now()
    fmt = by_name(file_format) or PNG
    digital_source_type = ALGORITHMIC_MEDIA if origin.offline else TRAINED_ALGORITHMIC_MEDIA
    marked = with_digital_source_type(
        rendition, file_format=fmt.name, digital_source_type=digital_source_type, publisher=workspace.name
    )
    credential = SigningCredential.objects.filter(workspace=workspace).first()
    if credential is None:
        return SignedRendition(
            data=marked, summary=unsigned_summary(workspace=workspace, origin=origin, xmp=marked != rendition, now=now)
        )
    signer = _usable_signer(credential, now)
    source_fmt = sniff(source) or PNG
    source_sha256 = source_sha256 or hashlib.sha256(source).hexdigest()
    source_report, source_note = _source_report(source, source_fmt.mime)
    with Image.open(io.BytesIO(rendition)) as image:
        width, height = image.size
    with Image.open(io.BytesIO(source)) as image:
        source_size = image.size
    steps = rendition_actions(source_size=source_size, width=width, height=height, crop_box=crop_box, focal=focal)
    ingredient = None
    if source_report is not None:
        label = "source"
        opened = {
            "action": "c2pa.opened",
            "parameters": {"ingredientIds": [label]},
            "softwareAgent": {"name": "Imprimatur"},
            "description": "Opened the approved image with the Content Credentials it came with",
        }
        actions = [opened, *steps]
        title = f"variant-{origin.variant_id}.{source_fmt.extension}" if origin.variant_id else "source"
        ingredient = Ingredient(data=source, mime=source_fmt.mime, title=title, label=label)
    else:
        actions = [created_action(origin), *filter(None, [edited_action(origin)]), *steps]
    definition = manifest_definition(
        workspace=workspace,
        origin=origin,
        actions=actions,
        mime=fmt.mime,
        title=f"{workspace.slug}-{width}x{height}.{fmt.extension}",
        source_sha256=source_sha256,
    )
    try:
        # Validated once, here, by reading it back (the summary needs the report anyway), not also by
        # c2pa right after signing: each validation is a full pass over the file.
        signed = manifest_sign(
            definition=definition, data=marked, mime=fmt.mime, signer=signer, ingredient=ingredient, verify=False
        )
        report = manifest_read(signed, fmt.mime)
    except ManifestError as exc:
        raise SigningUnavailable(
            f"The Content Credentials could not be signed ({exc.message}); nothing was published."
        ) from exc
    if report is None or report.state not in ("Valid", "Trusted") or not report.hash_bound:
        codes = ", ".join(report.failure_codes) if report is not None else "no manifest in the result"
        raise SigningUnavailable(f"The signed rendition did not validate ({codes}); nothing was published.")
    manifest_name, manifest_sha = _manifest_file_save(workspace=workspace, report=report)
    summary = signed_summary(
        workspace=workspace,
        origin=origin,
        credential=credential,
        report=report,
        source_report=source_report,
        source_note=source_note,
        xmp=marked != rendition,
        now=now,
    )
    summary["manifest_file"] = manifest_name
    summary["manifest_sha256"] = manifest_sha
    return SignedRendition(data=signed, summary=summary)
