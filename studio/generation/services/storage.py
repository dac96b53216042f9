"""Where the studio's files go: content-addressed images, references and their thumbnails."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

THUMBNAIL_EDGE = 384


def thumbnail_make(data: bytes) -> bytes:
    """A WebP thumbnail at most ``THUMBNAIL_EDGE`` pixels on its long side, for lists and the tree."""
    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
        out = io.BytesIO()
        img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").save(out, format="WEBP", quality=80)
    return out.getvalue()


def image_store(workspace_slug: str, kind: str, sha: str, ext: str, data: bytes) -> str:
    """Content-addressed names: a retried task writes the same path instead of a second file."""
    name = f"{kind}/{workspace_slug}/{sha[:2]}/{sha}.{ext}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name
