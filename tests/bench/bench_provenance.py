"""Content Credentials signing time per publication, beside the render it follows.

    .venv/bin/python tests/bench/bench_provenance.py [--publications 200] [--size 1024] [--json]

No database: it times the work ``studio.provenance.services.provenance_sign`` does per rendition (read the
source's manifest, write the XMP digital source type, build and sign the C2PA manifest with the source as
its ingredient, read the result back for the summary), with a throwaway certificate chain made with
``cryptography``. The render (``studio.lib.imaging.make_rendition``, Pillow crop + LANCZOS resize to
1200x628 PNG) is timed on the same images in the same run as the baseline, so the figure to read is the
sign/render ratio. Half the sources carry a manifest (as Azure's images do), half do not.

``sign_once(source, rendition, signer)`` is importable: the publish benchmark (render / sign / upload
split against Azurite) calls it for its sign column.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from studio.lib.imaging import make_rendition  # noqa: E402
from studio.lib.provenance import (  # noqa: E402
    TRAINED_ALGORITHMIC_MEDIA,
    SignerConfig,
    manifest_read,
    manifest_sign,
    with_digital_source_type,
)
from studio.lib.provenance.manifests import Ingredient, ManifestError  # noqa: E402
from tests.provenance.certs import make_chain  # noqa: E402

TARGET = (1200, 628)


def _source(size: int, seed: int) -> bytes:
    """A photo-like source (a gradient with structure, not a flat colour that compresses to nothing)."""
    image = Image.radial_gradient("L").resize((size, size)).convert("RGB")
    image = Image.merge("RGB", [band.rotate(seed * 37 + i * 90) for i, band in enumerate(image.split())])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _definition(actions: list) -> dict:
    return {
        "claim_generator_info": [{"name": "Imprimatur", "version": "1.0"}],
        "format": "image/png",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    }


def sign_once(source: bytes, rendition: bytes, signer: SignerConfig) -> tuple[bytes, float]:
    """What provenance_sign does to one rendition (minus the credential lookup and the manifest file
    write); returns the signed bytes and the seconds it took."""
    started = time.perf_counter()
    try:
        source_report = manifest_read(source, "image/png")
    except ManifestError:
        source_report = None
    marked = with_digital_source_type(
        rendition, file_format="png", digital_source_type=TRAINED_ALGORITHMIC_MEDIA, publisher="Bench"
    )
    steps = [{"action": "c2pa.cropped"}, {"action": "c2pa.resized"}]
    if source_report is not None:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["source"]}}, *steps]
        ingredient = Ingredient(data=source, mime="image/png", title="source.png")
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}, *steps]
        ingredient = None
    signed = manifest_sign(
        definition=_definition(actions), data=marked, mime="image/png", signer=signer, ingredient=ingredient
    )
    report = manifest_read(signed, "image/png")
    if report is None or not report.hash_bound:
        raise RuntimeError("the signed rendition did not validate")
    return signed, time.perf_counter() - started


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024, help="source edge in pixels")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ours, azure = make_chain(organization="Bench"), make_chain(organization="Azure (bench)")
    signer = SignerConfig(chain_pem=ours.chain_pem, key_pem=ours.key_pem)
    azure_signer = SignerConfig(chain_pem=azure.chain_pem, key_pem=azure.key_pem)
    created = _definition([{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}])
    plain = [_source(args.size, seed) for seed in range(8)]
    sources = plain + [manifest_sign(definition=created, data=s, mime="image/png", signer=azure_signer) for s in plain]

    render_times, sign_times, growth = [], [], []
    for index in range(args.publications):
        source = sources[index % len(sources)]
        started = time.perf_counter()
        rendition = make_rendition(source=source, width=TARGET[0], height=TARGET[1], output_format="png")
        render_times.append(time.perf_counter() - started)
        signed, seconds = sign_once(source, rendition, signer)
        sign_times.append(seconds)
        growth.append(len(signed) - len(rendition))

    result = {
        "publications": args.publications,
        "source": f"{args.size}x{args.size} PNG (half with a manifest)",
        "rendition": f"{TARGET[0]}x{TARGET[1]} PNG",
        "render": _stats(render_times),
        "sign": _stats(sign_times),
        "sign_over_render": round(statistics.fmean(sign_times) / statistics.fmean(render_times), 3),
        "bytes_added_mean": round(statistics.fmean(growth)),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['publications']} publications, {result['source']} -> {result['rendition']}")
        for part in ("render", "sign"):
            s = result[part]
            print(f"  {part:<7} mean {s['mean_ms']:>8} ms   p50 {s['p50_ms']:>8} ms   p95 {s['p95_ms']:>8} ms")
        print(f"  sign / render = {result['sign_over_render']}   manifest adds {result['bytes_added_mean']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
