"""Recording changes to a campaign's destinations (added, changed, deleted in the admin) in the audit log,
with nothing secret in the record.

A destination row holds no credentials (it names the environment variables that do), but two of its
fields are URLs a person may paste a secret into: an endpoint with ``user:password@`` or a public URL
template ending in an Azure SAS token (``?sv=...&sig=...``). Those lose their userinfo and query values
before they reach the log, which is append-only and exported: a secret written there can never be
taken back."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction

from approvals.publishing import events
from approvals.publishing.destinations import Destination

URL_FIELDS = frozenset({"endpoint_url", "public_url_template"})
REDACTED = "(redacted)"


def url_without_secrets(value: Any) -> Any:
    """``value`` with any ``user:password@`` and every query value replaced by "(redacted)" (the query's
    names stay: they say what kind of token it was)."""
    if not isinstance(value, str) or not value:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        query = urlencode([(name, REDACTED) for name, _value in parse_qsl(query, keep_blank_values=True)], safe="(){}")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def destination_changes(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """An admin form's changes (field -> {"before", "after"}) as they may be recorded."""
    return {
        field: {side: url_without_secrets(value) for side, value in change.items()} if field in URL_FIELDS else change
        for field, change in changes.items()
    }


@transaction.atomic
def destination_change_record(*, actor, destination: Destination, action: str, changes: dict, via: str) -> None:
    """Record that ``actor`` added, changed or deleted ``destination`` (call before a delete, while the
    row still has its id). ``changes`` are the form's; secrets are taken out here."""
    events.destination_changed(
        destination=destination, actor=actor, action=action, changes=destination_changes(changes), via=via
    )
