"""What each Azure surface and ``api-version`` documents, as data (see shared/reference/image-api.md).

The deployments surface (``/openai/deployments/{name}/images/...?api-version=``) is pinned to a dated
api-version whose published spec may predate the model: ``2025-04-01-preview`` lists fixed sizes only
and ``output_format`` png/jpeg. Whether the live service accepts more on that version is undocumented,
so the product warns before sending what the version does not document, and Test connection sends a
size it does. The v1 surface carries no api-version and documents flexible sizes; Azure documents
png/jpeg only. Pure: a deployment is read by attribute (``provider``, ``azure_surface``, ``api_version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AZURE_PROVIDER = "azure-openai"
DEFAULT_API_VERSION = "2025-04-01-preview"


@dataclass(frozen=True)
class SurfaceSpec:
    """``sizes``: the sizes the spec lists, or None when it documents any ``WxH`` the model accepts."""

    label: str
    sizes: frozenset[str] | None
    output_formats: frozenset[str]

    def documents_size(self, size: str) -> bool:
        return self.sizes is None or size in self.sizes

    def documents_format(self, output_format: str) -> bool:
        return not output_format or output_format in self.output_formats


FIXED_SIZES = frozenset({"auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"})
AZURE_FORMATS = frozenset({"png", "jpeg"})

#: api-version of the deployments surface -> what its published spec documents.
AZURE_API_VERSIONS: dict[str, SurfaceSpec] = {
    "2025-04-01-preview": SurfaceSpec("api-version 2025-04-01-preview", FIXED_SIZES, AZURE_FORMATS),
}
AZURE_V1 = SurfaceSpec("the v1 surface", None, AZURE_FORMATS)
#: A dated api-version missing from the table: assume no more than the newest documented one.
UNKNOWN_API_VERSION = SurfaceSpec("an api-version without a spec here", FIXED_SIZES, AZURE_FORMATS)
#: The size Test connection sends where only fixed sizes are documented.
FIXED_TEST_SIZE = (1024, 1024)


def surface_spec(deployment: Any) -> SurfaceSpec | None:
    """What ``deployment``'s surface documents; None for non-Azure providers (the profile alone decides)."""
    if getattr(deployment, "provider", "") != AZURE_PROVIDER:
        return None
    if getattr(deployment, "azure_surface", "v1") != "deployments":
        return AZURE_V1
    version = getattr(deployment, "api_version", "") or DEFAULT_API_VERSION
    if version in AZURE_API_VERSIONS:
        return AZURE_API_VERSIONS[version]
    return SurfaceSpec(f"api-version {version}", UNKNOWN_API_VERSION.sizes, UNKNOWN_API_VERSION.output_formats)


def surface_warnings(deployment: Any, *, size: str, output_format: str = "") -> list[str]:
    """Plain-language warnings for a request ``deployment``'s surface does not document (empty: fine)."""
    spec = surface_spec(deployment)
    if spec is None:
        return []
    warnings = []
    if not spec.documents_size(size):
        warnings.append(
            f"{size} is not a documented size on {spec.label} (it lists {', '.join(sorted(spec.sizes or ()))}); "
            "the service may refuse or resize it. Use the v1 surface or a newer api-version for flexible sizes."
        )
    if not spec.documents_format(output_format):
        warnings.append(
            f"{output_format} output is not documented on {spec.label} (only "
            f"{'/'.join(sorted(spec.output_formats))}); the service may refuse it."
        )
    return warnings
