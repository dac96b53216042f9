"""Publishing at scale: approved variants to Azure Blob Storage (Azurite), with renditions and C2PA signing.

    .venv/bin/python tests/bench/bench_publish.py [--publications 200] [--json]

1. Starts Azurite if it is down (``tests.suite.ensure_azurite``, as ``make test`` does), creates its own
   PostgreSQL test database (``<DATABASE_URL's name>_bench_publish``) and media folder.
2. Seeds one workspace with a signing certificate (a throwaway chain made with ``cryptography``), a
   campaign with a 1200x628 format and an Azure destination on Azurite, and ``--publications`` approved
   1216x640 PNG variants, each its own bytes (photo-like: gradient and noise). Half carry a manifest like
   Azure's (so their manifest becomes the rendition's ingredient), half none (offline renderer).
3. Publishes each variant through the worker's task (``publication_render``, called in process: no broker),
   recording the phases the publish path marks (``approvals.publishing.timing``): check, read, render,
   sign, upload, record.
4. Alternating with it, the baseline on the same files in the same run: read the file, a bare Pillow crop
   and LANCZOS resize to the same pixels, PNG, and one ``azure-storage-blob`` upload through one reused
   container client.
5. Prints per publication the mean and p95, wall and CPU (this process), the split, and the ratio of the
   means (goal: publish / baseline <= 1.5). Checks every rendition arrived and one validates with c2pa's
   reader; drops the database, the media folder and the containers.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_RATIO = 1.5
SOURCE = (1216, 640)
TARGET = (1200, 628)
KEY_ENV = "IMPRIMATUR_KEY_C2PA_BENCH"
AZURE_KEY_ENV = "IMPRIMATUR_KEY_AZURITE_BENCH"
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _setup(media: Path):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings.test")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
    os.environ["MEDIA_ROOT"] = str(media)
    import logging

    import django

    django.setup()
    # azure-core logs every request and response with its headers at INFO: noise here (and a cost, the
    # same for the publish path and the baseline).
    logging.getLogger("azure").setLevel(logging.WARNING)
    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        raise SystemExit(f"bench_publish needs PostgreSQL (DATABASE_URL is {connection.vendor})")
    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench_publish"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection, old_name


def _photo(seed: int) -> bytes:
    """A photo-like 1216x640 PNG: a rotated gradient per band with noise, so it compresses like a picture
    (about 1 MB), not like a flat colour."""
    from PIL import Image

    size = (SOURCE[0], SOURCE[0])
    base = Image.radial_gradient("L").resize(size)
    bands = [
        Image.blend(base.rotate(seed * 37 + i * 90), Image.effect_noise(size, 40 + i * 10), 0.25) for i in range(3)
    ]
    image = Image.merge("RGB", bands).crop((0, 0, *SOURCE))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _unique(photo: bytes, index: int) -> bytes:
    """``photo`` with a few pixels set from ``index``: every variant has its own bytes (and object key)."""
    from PIL import Image

    with Image.open(io.BytesIO(photo)) as image:
        image.load()
        for i in range(8):
            image.putpixel((i, 0), (index % 256, (index >> 8) % 256, i * 30))
        out = io.BytesIO()
        image.save(out, format="PNG")
    return out.getvalue()


def _seed(n: int):
    from django.core.files.base import ContentFile

    from approvals.publishing.destinations import Destination, DestinationKind
    from approvals.reviews import services as review_services
    from approvals.reviews.models import StageKind
    from studio.generation import models as sm
    from studio.provenance.services import signing_credential_save
    from tests import factories as f
    from tests.approvals.factories_reviews import variant_for
    from tests.provenance.certs import make_chain
    from tests.provenance.conftest import azure_signed

    workspace = f.WorkspaceFactory(slug="bench", name="Bench Studio")
    people = {}
    for username, role in (("mia", "marketer"), ("rob", "brand_reviewer"), ("ada", "admin")):
        people[username] = f.UserFactory(username=username)
        f.MembershipFactory(user=people[username], workspace=workspace, role=role)
    chain = make_chain(organization="Bench Studio")
    os.environ[KEY_ENV] = chain.key_pem
    signing_credential_save(
        actor=people["ada"], workspace=workspace, certificate_chain=chain.chain_pem, private_key_env=KEY_ENV
    )
    campaign = f.CampaignFactory(workspace=workspace, slug="spring", name="Spring")
    target_format = f.CampaignFormatFactory(campaign=campaign, name="LinkedIn ad", width=TARGET[0], height=TARGET[1])
    container = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ[AZURE_KEY_ENV] = AZURITE_KEY
    destination = Destination.objects.create(
        workspace=workspace,
        campaign=campaign,
        name="Azurite",
        kind=DestinationKind.AZURE,
        bucket=container,
        account_name=AZURITE_ACCOUNT,
        endpoint_url=_azurite_url(),
        secret_key_env=AZURE_KEY_ENV,
    )
    destination.full_clean()
    photos = [_photo(seed) for seed in range(8)]
    variants = []
    for index in range(n):
        with_manifest = index % 2 == 0
        data = _unique(photos[index % len(photos)], index)
        if with_manifest:
            data, _azure = azure_signed(data)
        variant = variant_for(workspace, creator=people["mia"], campaign=campaign, width=SOURCE[0], height=SOURCE[1])
        if with_manifest:
            sm.Deployment.objects.filter(pk=variant.job.deployment_id).update(
                provider=sm.ProviderKind.AZURE_OPENAI, model="gpt-image-1", endpoint="https://bench.openai.azure.com"
            )
        variant.image.save(f"bench-{index}.png", ContentFile(data), save=False)
        variant.sha256 = hashlib.sha256(data).hexdigest()
        variant.save()
        review = review_services.variant_submit(actor=people["mia"], variant=variant)
        review_services.review_decide(
            actor=people["rob"],
            stage=review.stages.get(kind=StageKind.BRAND),
            outcome="approve",
            expected_sha256=variant.sha256,
        )
        variants.append(variant)
    return people["mia"], target_format, destination, variants


def _azurite_url() -> str:
    from tests.suite import AZURITE_PORT

    return os.environ.get("IMPRIMATUR_TEST_AZURITE_URL", f"http://127.0.0.1:{AZURITE_PORT}/{AZURITE_ACCOUNT}")


class Baseline:
    """The least a script would do: read, crop and resize with Pillow, PNG, one upload (one client)."""

    def __init__(self, service, container: str) -> None:
        service.create_container(container)
        self.client = service.get_container_client(container)

    def publish(self, path: str, box: tuple[int, int, int, int], name: str) -> int:
        from PIL import Image

        with open(path, "rb") as handle:
            source = handle.read()
        with Image.open(io.BytesIO(source)) as image:
            fitted = image.convert("RGB").crop(box).resize(TARGET, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        fitted.save(out, format="PNG", optimize=False)
        data = out.getvalue()
        self.client.upload_blob(name, data, overwrite=True)
        return len(data)


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
    }


def _measure(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _verify(destination, publications: list) -> None:
    """Every rendition is in the container at its recorded size, and one reads back as a valid manifest
    whose ingredient chain reaches the source."""
    from studio.lib.provenance import manifest_read

    storage = destination.storage()
    sizes = {blob.name: blob.size for blob in storage.client.list_blobs()}
    missing = [p.file.name for p in publications if p.file.name not in sizes]
    if missing:
        raise SystemExit(f"{len(missing)} renditions are missing from Azurite, e.g. {missing[0]}")
    first = next(p for p in publications if p.variant.job.deployment.provider != "offline")
    report = manifest_read(storage.open(first.file.name).read(), "image/png")
    if report is None or not report.hash_bound or len(report.chain()) < 2:
        raise SystemExit("the published rendition's Content Credentials did not validate with its ingredient")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from tests.suite import ensure_azurite

    if problem := ensure_azurite():
        print(f"cannot benchmark: {problem}")
        return 1
    media = Path(tempfile.mkdtemp(prefix="bench-publish-media-"))
    connection, old_name = _setup(media)
    service = None
    containers: list[str] = []
    try:
        from azure.storage.blob import BlobServiceClient

        from approvals.publishing.models import Publication, PublicationStatus
        from approvals.publishing.tasks import publication_render
        from approvals.publishing.timing import PHASES, phases_recorded
        from studio.lib.imaging import plan_rendition

        started = time.perf_counter()
        # Two more than measured: one to warm up, one whose SQL is counted.
        actor, target_format, destination, variants = _seed(args.publications + 2)
        containers.append(destination.bucket)
        service = BlobServiceClient(
            _azurite_url(), credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        )
        service.create_container(destination.bucket)
        baseline_container = f"{destination.bucket}-bare"
        containers.append(baseline_container)
        baseline = Baseline(service, baseline_container)
        print(f"  seeded {len(variants)} approved variants ({time.perf_counter() - started:.1f} s)", flush=True)

        box = plan_rendition(
            source_width=SOURCE[0], source_height=SOURCE[1], target_width=TARGET[0], target_height=TARGET[1]
        ).crop_box
        # One of each first (connections opened, code paths warm), not counted.
        warm = variants.pop()
        publication_render(warm.pk, target_format.pk, actor.pk, destination.pk)
        baseline.publish(warm.image.path, box, "warm.png")
        from django.test.utils import CaptureQueriesContext

        counted = variants.pop()
        with CaptureQueriesContext(connection) as queries:  # the SQL of one publication
            publication_render(counted.pk, target_format.pk, actor.pk, destination.pk)
        if os.environ.get("BENCH_QUERIES"):
            for query in queries.captured_queries:
                print("   ", query["sql"][:160])
        queries_per_publication = len(queries.captured_queries)

        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # a cProfile of the publish calls only, printed at the end
            import cProfile

            profiler = cProfile.Profile()
        ours_wall, ours_cpu, bare_wall, bare_cpu = [], [], [], []
        with phases_recorded() as phases:
            for index, variant in enumerate(variants):

                def publish(variant=variant):
                    if profiler is not None:
                        profiler.enable()
                    published = publication_render(variant.pk, target_format.pk, actor.pk, destination.pk)
                    if profiler is not None:
                        profiler.disable()
                    if published is None:
                        raise SystemExit(f"variant {variant.pk} was not published")

                def bare(variant=variant, index=index):
                    baseline.publish(variant.image.path, box, f"bare/{index}.png")

                # Alternate which goes first, so a burst of load elsewhere falls on both alike.
                for which in (publish, bare) if index % 2 == 0 else (bare, publish):
                    wall, cpu = _measure(which)
                    (ours_wall if which is publish else bare_wall).append(wall)
                    (ours_cpu if which is publish else bare_cpu).append(cpu)

        publications = list(
            Publication.objects.filter(variant__in=variants, status=PublicationStatus.PUBLISHED).select_related(
                "variant__job__deployment", "destination"
            )
        )
        if len(publications) != len(variants):
            raise SystemExit(f"{len(publications)} of {len(variants)} publications were recorded")
        _verify(destination, publications)

        if profiler is not None:
            import pstats

            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profiler).print_callees(
                "provenance_sign|rendition_store|_publication_record|publication_render"
            )
        n = len(variants)
        split = {name: round(phases.wall.get(name, 0.0) / n * 1000, 1) for name in PHASES}
        split["other"] = round(statistics.fmean(ours_wall) * 1000 - sum(split.values()), 1)
        cpu_split = {name: round(phases.cpu.get(name, 0.0) / n * 1000, 1) for name in PHASES}
        result = {
            "publications": n,
            "source": f"{SOURCE[0]}x{SOURCE[1]} PNG (half with an Azure-like manifest)",
            "rendition": f"{TARGET[0]}x{TARGET[1]} PNG, signed, to Azurite",
            "publish_wall": _stats(ours_wall),
            "publish_cpu": _stats(ours_cpu),
            "baseline_wall": _stats(bare_wall),
            "baseline_cpu": _stats(bare_cpu),
            "split_wall_ms": split,
            "split_cpu_ms": cpu_split,
            "ratio_wall": round(statistics.fmean(ours_wall) / statistics.fmean(bare_wall), 2),
            "ratio_cpu": round(statistics.fmean(ours_cpu) / statistics.fmean(bare_cpu), 2),
            "queries_per_publication": queries_per_publication,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        ok = result["ratio_wall"] <= GOAL_RATIO
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(f"  {n} publications, {result['source']} -> {result['rendition']}")
            for label, key in (("publish", "publish"), ("baseline", "baseline")):
                w, c = result[f"{key}_wall"], result[f"{key}_cpu"]
                print(
                    f"  {label:9} wall mean {w['mean_ms']:6.1f} ms  p95 {w['p95_ms']:6.1f} ms"
                    f"   cpu mean {c['mean_ms']:6.1f} ms  p95 {c['p95_ms']:6.1f} ms"
                )
            print("  split per publication (wall ms): " + ", ".join(f"{k} {v}" for k, v in split.items()))
            print("  split per publication (cpu ms):  " + ", ".join(f"{k} {v}" for k, v in cpu_split.items()))
            print(f"  {queries_per_publication} SQL queries per publication; load average {result['load_average']}")
        print(
            f"  goal publish/baseline <= {GOAL_RATIO}: {'met' if ok else 'NOT met'} "
            f"(wall {result['ratio_wall']}x, cpu {result['ratio_cpu']}x)"
        )
        return 0 if ok else 1
    finally:
        if service is not None:
            for container in containers:
                try:
                    service.delete_container(container)
                except Exception as exc:  # noqa: BLE001 - cleaning up; the figures are already printed
                    print(f"  could not delete container {container}: {type(exc).__name__}")
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
