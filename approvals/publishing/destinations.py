"""Destinations: where a campaign's renditions are published (local files, S3, Azure Blob Storage).

A destination is data (one row per campaign and place). Credentials are never stored: a destination
names the environment variables that hold them, under the same prefix rule as a deployment's key
(``secret_env_problem``), and the storage backend is built from them at call time. Objects that are
not public (a private bucket or container, a retracted object) are only ever linked through short-lived
signed URLs (``IMPRIMATUR_MEDIA_URL_SECONDS``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import models
from django.db.models.fields.files import FileDescriptor
from django.db.models.functions import Lower

from studio.core.models import Workspace
from studio.generation.models import Campaign
from studio.generation.models.deployments import endpoint_problem, secret_env_problem


class DestinationKind(models.TextChoices):
    LOCAL = "local", "Local files"
    S3 = "s3", "Amazon S3 (or S3-compatible)"
    AZURE = "azure", "Azure Blob Storage"


class RetractMode(models.TextChoices):
    DELETE = "delete", "Delete the object"
    MOVE = "move", "Move it under the retracted prefix"


class DestinationUnavailable(Exception):
    """The destination's storage could not be reached or refused the write (a plain message)."""


class Destination(models.Model):
    """One place a campaign publishes to. ``bucket`` is the S3 bucket, the Azure container, or (local
    files) a folder under ``published/`` in the studio's media storage."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="destinations")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=DestinationKind.choices, default=DestinationKind.LOCAL)
    bucket = models.CharField(
        max_length=200, blank=True, help_text="S3 bucket, Azure container, or a folder name for local files."
    )
    prefix = models.CharField(max_length=200, blank=True, help_text="Key prefix inside the bucket, e.g. ads/.")
    endpoint_url = models.URLField(
        blank=True, help_text="S3-compatible endpoint, or the Azure blob endpoint (blank: the provider's own)."
    )
    region = models.CharField(max_length=40, blank=True, help_text="S3 region (blank: us-east-1).")
    account_name = models.CharField(max_length=100, blank=True, help_text="Azure storage account name.")
    access_key_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable holding the S3 access key id."
    )
    secret_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Environment variable holding the S3 secret key or the Azure account key.",
    )
    public = models.BooleanField(
        default=True, help_text="Published objects are publicly readable (else pages link signed, short-lived URLs)."
    )
    public_url_template = models.CharField(
        max_length=500,
        blank=True,
        help_text="The public address of an object, e.g. https://cdn.example.com/{key} (blank: the storage's URL).",
    )
    retract_mode = models.CharField(max_length=10, choices=RetractMode.choices, default=RetractMode.DELETE)
    retracted_prefix = models.CharField(max_length=200, default="retracted/")
    is_default = models.BooleanField(default=False, help_text="Preselected when publishing in this campaign.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "publishing_destination"
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "campaign", name="destination_name_unique_per_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        problems: dict[str, str] = {}
        if self.campaign_id and self.workspace_id and self.campaign.workspace_id != self.workspace_id:
            problems["campaign"] = "Choose a campaign of this workspace."
        for field in ("access_key_env", "secret_key_env"):
            if problem := secret_env_problem(getattr(self, field)):
                problems[field] = problem
        if self.kind in (DestinationKind.S3, DestinationKind.AZURE):
            if not self.bucket:
                problems["bucket"] = "Name the bucket or container."
            if self.endpoint_url and (problem := endpoint_problem(self.endpoint_url)):
                problems["endpoint_url"] = problem.replace("The API key is", "Credentials are")
            if not self.secret_key_env:
                problems["secret_key_env"] = "Name the environment variable that holds the key."  # noqa: S105
        if self.kind == DestinationKind.AZURE and not self.account_name:
            problems["account_name"] = "Name the Azure storage account."
        if self.kind == DestinationKind.S3 and not self.access_key_env:
            problems["access_key_env"] = "Name the environment variable that holds the access key id."
        if self.kind == DestinationKind.LOCAL and self.bucket and not self.bucket.replace("-", "").isalnum():
            problems["bucket"] = "A local folder name uses letters, digits and hyphens only."
        if self.public_url_template:
            if "{key}" not in self.public_url_template:
                problems["public_url_template"] = "The template must contain {key}, where the object's key goes."
            elif problem := endpoint_problem(self.public_url_template):
                problems["public_url_template"] = "Public addresses must use https://."
        if not self.retracted_prefix.strip("/"):
            problems["retracted_prefix"] = "Give a prefix such as retracted/."
        if problems:
            raise ValidationError(problems)

    # --- keys -------------------------------------------------------------------------------------

    def key_for(self, name: str) -> str:
        """The object key for a rendition file name: the prefix, then (local files) the folder."""
        prefix = self.prefix.strip("/")
        name = name.removeprefix("published/")
        if self.kind == DestinationKind.LOCAL:
            folder = self.bucket or f"destination-{self.pk}"
            return "/".join(p for p in ("published", folder, prefix, name) if p)
        return "/".join(p for p in (prefix, name) if p)

    def retracted_key_for(self, key: str) -> str:
        return f"{self.retracted_prefix.strip('/')}/{key}"

    def public_url_for(self, key: str) -> str:
        """The public address of ``key`` (the CDN template when set), or "" when the destination is not
        public (callers then use a signed URL through ``signed_url_for``)."""
        if not self.public:
            return ""
        if self.public_url_template:
            return self.public_url_template.replace("{key}", key)
        return self.storage().url(key)

    def signed_url_for(self, key: str) -> str:
        """A short-lived URL for a non-public object (S3 presigned, Azure SAS); local files answer their
        plain URL, since the authorised view streams those instead."""
        storage = self.storage()
        seconds = settings.IMPRIMATUR_MEDIA_URL_SECONDS
        if self.kind == DestinationKind.S3:
            # Signed even on a public bucket (a retracted object is not public any more).
            client = storage.connection.meta.client
            return client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
            )
        if self.kind == DestinationKind.AZURE:
            return storage.url(key, expire=seconds)
        return storage.url(key)

    # --- storage ----------------------------------------------------------------------------------

    def storage(self) -> Storage:
        """The storage backend for this row and the current values of its environment variables, shared
        by every instance of the row in this process (``shared_storage``)."""
        config = tuple(getattr(self, f.attname) for f in self._meta.concrete_fields)
        cached = getattr(self, "_storage", None)
        if cached is None or cached[0] != config:  # looked up again when the row changed (refresh, edits)
            cached = self._storage = (config, shared_storage(self, config))
        return cached[1]


# Storage backends built in this process, by destination row and credentials. A worker re-reads the
# destination for every publication (each task fetches its row); building the backend each time would
# open a new connection pool for every upload (a TCP and TLS handshake to Azure or S3 per rendition).
# The key holds a digest of the credentials, so a rotated key builds a new backend; bounded.
_BUILT: OrderedDict[tuple, Storage] = OrderedDict()
_BUILT_LOCK = threading.Lock()
_BUILT_KEPT = 32


def shared_storage(destination: Destination, config: tuple) -> Storage:
    if destination.kind == DestinationKind.LOCAL:
        return build_storage(destination)  # no connections to keep; it reads MEDIA_ROOT when built
    names = (destination.access_key_env, destination.secret_key_env)
    secrets = hashlib.sha256("\0".join(os.environ.get(n, "") if n else "" for n in names).encode()).hexdigest()
    key = (config, secrets, settings.IMPRIMATUR_MEDIA_URL_SECONDS)  # everything build_storage reads
    with _BUILT_LOCK:
        storage = _BUILT.get(key)
        if storage is not None:
            _BUILT.move_to_end(key)
            return storage
    storage = build_storage(destination)  # outside the lock: may raise DestinationUnavailable
    with _BUILT_LOCK:
        _BUILT[key] = storage
        while len(_BUILT) > _BUILT_KEPT:
            _BUILT.popitem(last=False)
    return storage


def _env(name: str) -> str:
    value = os.environ.get(name, "") if name else ""
    if name and not value:
        raise DestinationUnavailable(f"The environment variable {name} is not set, so the destination cannot be used.")
    return value


def build_storage(destination: Destination) -> Storage:
    if destination.kind == DestinationKind.S3:
        from botocore.config import Config
        from storages.backends.s3 import S3Storage

        return S3Storage(
            bucket_name=destination.bucket,
            endpoint_url=destination.endpoint_url or None,
            region_name=destination.region or "us-east-1",
            access_key=_env(destination.access_key_env),
            secret_key=_env(destination.secret_key_env),
            addressing_style="path" if destination.endpoint_url else None,
            querystring_auth=not destination.public,
            querystring_expire=settings.IMPRIMATUR_MEDIA_URL_SECONDS,
            file_overwrite=True,  # keys carry the content hash: the same key is the same bytes
            # A destination that is down answers within seconds, not after botocore's long default retries.
            client_config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"}),
        )
    if destination.kind == DestinationKind.AZURE:
        return _azure_storage(destination)
    return FileSystemStorage(location=settings.MEDIA_ROOT, base_url=settings.MEDIA_URL)


def _azure_storage(destination: Destination) -> Storage:
    from azure.storage.blob import BlobServiceClient
    from storages.backends.azure_storage import AzureStorage

    key = _env(destination.secret_key_env)
    account = destination.account_name
    endpoint = destination.endpoint_url.rstrip("/") or f"https://{account}.blob.core.windows.net"

    class DestinationAzureStorage(AzureStorage):
        def _get_service_client(self):
            # Short timeouts and few retries: a destination that is down fails the publication quickly.
            return BlobServiceClient(
                endpoint,
                credential={"account_name": account, "account_key": key},
                retry_total=1,
                connection_timeout=5,
                read_timeout=30,
            )

    return DestinationAzureStorage(
        account_name=account,
        account_key=key,
        azure_container=destination.bucket,
        azure_ssl=endpoint.startswith("https://"),
        overwrite_files=True,
        timeout=30,
        expiration_secs=None if destination.public else settings.IMPRIMATUR_MEDIA_URL_SECONDS,
    )


# --- the publication's file field: its storage is its destination's ----------------------------------


class DestinationFileDescriptor(FileDescriptor):
    """``publication.file.storage`` is the publication's destination storage (the studio's own storage
    when it has none), so everything that opens ``publication.file`` (the audit pack, the page) reads
    from where the rendition actually is."""

    def __get__(self, instance, cls=None):
        file = super().__get__(instance, cls)
        if instance is None or getattr(file, "_destination_bound", False):
            return file
        destination_id = getattr(instance, "destination_id", None)
        if destination_id:
            try:
                file.storage = instance.destination.storage()
            except DestinationUnavailable:
                file.storage = default_storage
        file._destination_bound = True
        return file


class DestinationFileField(models.FileField):
    descriptor_class = DestinationFileDescriptor
