"""Content Credentials reads."""

from __future__ import annotations

from studio.core.models import Workspace
from studio.provenance.models import SigningCredential


def signing_credential_for(workspace: Workspace) -> SigningCredential | None:
    return SigningCredential.objects.filter(workspace=workspace).select_related("configured_by").first()
