"""C2PA manifests with c2pa-python: sign an asset (optionally with its parent's manifest as the
ingredient) and read a manifest store back into a report (validation state, hash binding, the actions
and the ingredient chain). Knows bytes, PEM and JSON; the app decides what the manifest says."""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import c2pa

from studio.lib.provenance.certificates import SIGNING_EKUS

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"  # made by a generative model
ALGORITHMIC_MEDIA = IPTC + "algorithmicMedia"  # drawn by a program without training data (offline renderer)

_ALGORITHMS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}


class ManifestError(Exception):
    """c2pa could not sign or read; ``message`` is c2pa's reason, safe to log (no key material)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class SignerConfig:
    chain_pem: str
    key_pem: str = field(repr=False)
    algorithm: str = "es256"


@dataclass(frozen=True)
class Ingredient:
    """The parent asset (with its own manifest, when it has one) the new manifest is made from."""

    data: bytes = field(repr=False)
    mime: str
    title: str
    label: str = "source"


@dataclass(frozen=True)
class ManifestReport:
    """A manifest store as c2pa's Reader validated it."""

    state: str  # "Invalid", "Valid" (signature and bindings hold) or "Trusted" (and the signer is trusted)
    active_label: str
    store: dict[str, Any]

    @property
    def manifests(self) -> dict[str, dict[str, Any]]:
        return self.store.get("manifests", {})

    @property
    def active(self) -> dict[str, Any]:
        return self.manifests.get(self.active_label, {})

    def _results(self, kind: str) -> list[dict[str, Any]]:
        return self.store.get("validation_results", {}).get("activeManifest", {}).get(kind, [])

    @property
    def failure_codes(self) -> list[str]:
        return [item["code"] for item in self._results("failure")]

    @property
    def hash_bound(self) -> bool:
        """The asset's bytes match the manifest's data hash (nothing changed after signing)."""
        codes = {item["code"] for item in self._results("success")}
        bound = {"assertion.dataHash.match", "assertion.bmffHash.match", "assertion.boxesHash.match"}
        return bool(codes & bound) and not any(code.endswith("Hash.mismatch") for code in self.failure_codes)

    def actions(self, label: str | None = None) -> list[dict[str, Any]]:
        manifest = self.manifests.get(label or self.active_label, {})
        found: list[dict[str, Any]] = []
        for assertion in manifest.get("assertions", []):
            if assertion.get("label", "").startswith("c2pa.actions"):
                found.extend(assertion.get("data", {}).get("actions", []))
        return found

    def assertion(self, label: str, manifest_label: str | None = None) -> dict[str, Any] | None:
        manifest = self.manifests.get(manifest_label or self.active_label, {})
        for assertion in manifest.get("assertions", []):
            if assertion.get("label") == label:
                return assertion.get("data")
        return None

    def chain(self) -> list[str]:
        """Manifest labels from the active one down its parent ingredients (the history, newest first)."""
        labels, label = [], self.active_label
        while label and label not in labels and label in self.manifests:
            labels.append(label)
            parents = [i for i in self.manifests[label].get("ingredients", []) if i.get("relationship") == "parentOf"]
            label = parents[0].get("active_manifest", "") if parents else ""
        return labels


# c2pa's built-in list of signer EKUs is email protection, time stamping and OCSP signing only; the C2PA
# specification also allows document signing and the C2PA claim-signing EKU that conforming CAs issue.
# Signing and our own reading use the specification's list (``certificates.SIGNING_EKUS``).
_TRUST_CONFIG = "".join(f"{oid}\n" for oid in (*SIGNING_EKUS, "1.3.6.1.5.5.7.3.8", "1.3.6.1.5.5.7.3.9"))


def _context(*, thumbnails: bool, trust_anchors: str | None = None, verify_after_sign: bool = True) -> c2pa.Context:
    trust: dict[str, Any] = {"trust_config": _TRUST_CONFIG}
    if trust_anchors:
        trust["trust_anchors"] = trust_anchors
    return c2pa.Context.from_dict(
        {
            "builder": {"thumbnail": {"enabled": thumbnails}},
            "trust": trust,
            "verify": {"verify_after_sign": verify_after_sign},
        }
    )


# c2pa signers, kept per thread and per signing configuration: a worker publishing a campaign signs
# hundreds of renditions with one certificate, and parsing the chain and the key each time is waste.
# Per thread because a native signer is not documented as safe to share; bounded, the oldest closed.
_SIGNERS = threading.local()
_SIGNERS_KEPT = 8


def _signer_for(config: SignerConfig, algorithm) -> c2pa.Signer:
    kept: OrderedDict[SignerConfig, c2pa.Signer] = getattr(_SIGNERS, "kept", None) or OrderedDict()
    _SIGNERS.kept = kept
    signer = kept.get(config)
    if signer is None:
        info = c2pa.C2paSignerInfo(algorithm, config.chain_pem.encode(), config.key_pem.encode(), None)
        signer = kept[config] = c2pa.Signer.from_info(info)
        while len(kept) > _SIGNERS_KEPT:
            kept.popitem(last=False)[1].close()
    kept.move_to_end(config)
    return signer


def _signer_forget(config: SignerConfig) -> None:
    """Drop a kept signer after c2pa refused with it (rebuilt on the next use, so one bad state does not
    stick to the thread)."""
    kept = getattr(_SIGNERS, "kept", None)
    if kept and config in kept:
        kept.pop(config).close()


def manifest_sign(
    *,
    definition: dict[str, Any],
    data: bytes,
    mime: str,
    signer: SignerConfig,
    ingredient: Ingredient | None = None,
    thumbnails: bool = False,
    verify: bool = True,
) -> bytes:
    """``data`` with the manifest ``definition`` embedded and signed. With ``ingredient``, its manifest (if
    any) becomes the parent of the new one; the definition's ``c2pa.opened`` action should name
    ``ingredient.label``. c2pa validates the result before returning it, unless ``verify`` is False (for a
    caller that reads the result back with ``manifest_read`` anyway and checks the report: validating
    twice costs a full pass over the file). Any refusal is ``ManifestError``."""
    algorithm = _ALGORITHMS.get(signer.algorithm)
    if algorithm is None:
        raise ManifestError(f"Unsupported signing algorithm {signer.algorithm!r}.")
    try:
        c2pa_signer = _signer_for(signer, algorithm)
        with c2pa.Builder(definition, context=_context(thumbnails=thumbnails, verify_after_sign=verify)) as builder:
            if ingredient is not None:
                builder.add_ingredient(
                    {"title": ingredient.title, "relationship": "parentOf", "label": ingredient.label},
                    ingredient.mime,
                    io.BytesIO(ingredient.data),
                )
            out = io.BytesIO()
            builder.sign(c2pa_signer, mime, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        _signer_forget(signer)
        raise ManifestError(str(exc)) from exc
    return out.getvalue()


def manifest_read(data: bytes, mime: str, *, trust_anchors: str | None = None) -> ManifestReport | None:
    """The manifest store embedded in ``data``, validated, or None when there is none. A store c2pa cannot
    parse at all raises ``ManifestError``; one that parses but fails validation reads as state "Invalid".
    ``trust_anchors`` (PEM) are the roots whose signers count as trusted."""
    try:
        reader = c2pa.Reader.try_create(
            mime, io.BytesIO(data), context=_context(thumbnails=False, trust_anchors=trust_anchors)
        )
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or ""
    except c2pa.C2paError as exc:
        raise ManifestError(str(exc)) from exc
    return ManifestReport(state=state, active_label=store.get("active_manifest", ""), store=store)
