"""What keeps publishing fast without changing what it does: a destination's storage backend (and so its
connection pool) is shared by every read of the row in a process and rebuilt when the row or its
credentials change; an overwriting backend is written without asking first; the publish path reports
where its time goes to whoever records it."""

from __future__ import annotations

import pytest
from django.core.files.storage import FileSystemStorage

from approvals.publishing import services
from approvals.publishing.destination_writes import rendition_store
from approvals.publishing.destinations import Destination, DestinationKind
from approvals.publishing.models import PublicationStatus
from approvals.publishing.timing import PHASES, phase, phases_recorded
from tests.publishing.test_destinations import approved, local_destination  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _s3(campaign, monkeypatch, name="Ads") -> Destination:
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_ID", "id")
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_SECRET", "first")
    return Destination.objects.create(
        workspace=campaign.workspace,
        campaign=campaign,
        name=name,
        kind=DestinationKind.S3,
        bucket="ads",
        endpoint_url="http://127.0.0.1:9/",
        access_key_env="IMPRIMATUR_KEY_S3_ID",
        secret_key_env="IMPRIMATUR_KEY_S3_SECRET",
    )


def test_every_read_of_a_cloud_destination_shares_one_backend(campaign, monkeypatch):
    destination = _s3(campaign, monkeypatch)
    first = destination.storage()
    again = Destination.objects.get(pk=destination.pk)  # what the next task reads
    assert again.storage() is first
    monkeypatch.setenv("IMPRIMATUR_KEY_S3_SECRET", "rotated")  # a rotated key gets a new backend
    rotated = Destination.objects.get(pk=destination.pk).storage()
    assert rotated is not first
    assert rotated.secret_key == "rotated"
    Destination.objects.filter(pk=destination.pk).update(bucket="other")  # so does an edited row
    assert Destination.objects.get(pk=destination.pk).storage().bucket_name == "other"


def test_local_destinations_follow_the_media_root(campaign, settings, tmp_path):
    destination = local_destination(campaign)
    settings.MEDIA_ROOT = str(tmp_path)
    assert Destination.objects.get(pk=destination.pk).storage().location == str(tmp_path)


class _Recording(FileSystemStorage):
    file_overwrite = True  # like the S3 and Azure backends destinations build

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_overwrite=True, **kwargs)
        self.asked = 0

    def exists(self, name):
        self.asked += 1
        return super().exists(name)

    def get_available_name(self, name, max_length=None):
        return name  # as S3Storage does with file_overwrite: the name as it is, no question asked


def test_an_overwriting_backend_is_written_without_asking_first(campaign, monkeypatch, tmp_path):
    destination = local_destination(campaign)
    storage = _Recording(location=str(tmp_path))
    monkeypatch.setattr(Destination, "storage", lambda self: storage)
    key, _url = rendition_store(destination=destination, name="published/acme/1/a.png", data=b"\x89PNG-bytes")
    assert storage.asked == 0
    assert (tmp_path / key).read_bytes() == b"\x89PNG-bytes"
    again, _url = rendition_store(destination=destination, name="published/acme/1/a.png", data=b"\x89PNG-bytes")
    assert again == key  # the same content-addressed key, written over, not a suffixed copy


def test_the_publish_path_reports_its_phases(approved, marketer, ad_format, campaign):  # noqa: F811
    assert PHASES == ("check", "read", "render", "sign", "upload", "record")
    with phases_recorded() as times:
        publication = services.publication_create(
            actor=marketer, variant=approved, target_format=ad_format, destination=local_destination(campaign)
        )
    assert publication.status == PublicationStatus.PUBLISHED
    assert set(times.wall) == set(PHASES)
    assert all(seconds > 0 for seconds in times.wall.values())
    assert times.wall["render"] > times.wall["read"]


def test_nothing_is_recorded_when_nobody_listens():
    with phase("render"):
        pass  # no recorder: nothing to add to, nothing raised
    with phases_recorded() as times, phase("render"):
        pass
    assert list(times.wall) == ["render"]
