"""Azure AI Content Safety (api-version 2024-09-01): text and image analysis, Prompt Shields and
blocklist sync.

The key is read from the environment at call time (its variable's name is in settings), never stored;
with no endpoint or key the client is simply not configured and local rules decide alone. Every call
has an explicit timeout; failures become ``ScreenerUnavailable`` so the screening fails closed.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from django.conf import settings

from studio.core.models import Workspace
from studio.lib.imaging import UnreadableImage, image_prepare
from studio.safety.types import ScreenerUnavailable

API_VERSION = "2024-09-01"
TEXT_LIMIT = 10_000
BLOCKLIST_BATCH = 100  # addOrUpdateBlocklistItems accepts at most 100 items per call
BLOCKLIST_ITEM_MAX = 128
TEXT_CATEGORIES = ("Hate", "SelfHarm", "Sexual", "Violence")


def text_chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split long text into pieces of at most ``limit`` characters, at whitespace where possible, so a
    phrase is rarely cut in two. Short text is one chunk (empty text: one empty chunk)."""
    if len(text) <= limit:
        return [text]
    chunks = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind(" ", limit // 2, limit)
        cut = cut if cut > 0 else limit
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks


def blocklist_name_for(workspace: Workspace) -> str:
    """Azure allows 0-9 A-Z a-z - . _ ~ up to 64 characters; workspace slugs already fit."""
    return f"imprimatur-{workspace.slug}"[:64]


@dataclass(frozen=True)
class TextAnalysis:
    # Azure category -> 0..7; None when the service listed the category without a severity (the spec
    # makes ``severity`` optional: not reported, which the screener records as severity 0, unreported)
    severities: dict[str, int | None] = field(default_factory=dict)
    blocklist_matches: list[dict[str, str]] = field(default_factory=list)


class AzureContentSafetyClient:
    def __init__(self, *, endpoint: str, key: str, timeout: float, http_client: httpx2.Client | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.key = key
        self.timeout = timeout
        self._http = http_client

    @classmethod
    def from_settings(cls, *, http_client: httpx2.Client | None = None) -> AzureContentSafetyClient | None:
        """The configured client, or ``None`` when the endpoint or the key is missing."""
        endpoint = settings.AZURE_CONTENT_SAFETY_ENDPOINT
        key = os.environ.get(settings.AZURE_CONTENT_SAFETY_KEY_ENV, "")
        if not endpoint or not key:
            return None
        return cls(
            endpoint=endpoint, key=key, timeout=settings.IMPRIMATUR_SAFETY_TIMEOUT_SECONDS, http_client=http_client
        )

    # -- transport ----------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, json: Any = None, content_type: str = "application/json", url: str = ""
    ) -> dict[str, Any]:
        url = url or f"{self.endpoint}/contentsafety/{path}"
        headers = {"Ocp-Apim-Subscription-Key": self.key, "Content-Type": content_type}
        params = None if "api-version=" in url else {"api-version": API_VERSION}
        client = self._http or httpx2.Client(timeout=self.timeout)
        try:
            response = client.request(method, url, params=params, json=json, headers=headers, timeout=self.timeout)
        except httpx2.TimeoutException as exc:
            raise ScreenerUnavailable(
                f"Azure AI Content Safety did not answer within {self.timeout:g} seconds."
            ) from exc
        except httpx2.TransportError as exc:
            raise ScreenerUnavailable("Azure AI Content Safety could not be reached.") from exc
        finally:
            if self._http is None:
                client.close()
        if response.status_code >= 400:
            raise _error_for(response)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as exc:
            raise ScreenerUnavailable("Azure AI Content Safety sent a reply that is not JSON.") from exc
        if not isinstance(body, dict):
            raise ScreenerUnavailable("Azure AI Content Safety sent a reply in an unexpected shape.")
        return body

    # -- analysis -----------------------------------------------------------------------------------

    def analyze_text(self, text: str, *, blocklist_names: Iterable[str] = ()) -> TextAnalysis:
        """Eight severity levels per category plus blocklist hits; long text is analysed in chunks and
        the highest severity of any chunk counts."""
        names = list(blocklist_names)
        severities: dict[str, int | None] = {}
        matches: list[dict[str, str]] = []
        for chunk in text_chunks(text):
            payload: dict[str, Any] = {
                "text": chunk,
                "categories": list(TEXT_CATEGORIES),
                "outputType": "EightSeverityLevels",
            }
            if names:
                payload |= {"blocklistNames": names, "haltOnBlocklistHit": False}
            body = self._request("POST", "text:analyze", json=payload)
            for item in _list(body, "categoriesAnalysis"):
                category, severity = str(item.get("category", "")), _severity(item)
                seen = severities.get(category)
                severities[category] = severity if seen is None else max(seen, severity or 0)
            for item in body.get("blocklistsMatch") or []:
                if isinstance(item, dict) and item not in matches:
                    matches.append(
                        {k: str(item.get(k, "")) for k in ("blocklistName", "blocklistItemId", "blocklistItemText")}
                    )
        return TextAnalysis(severities=severities, blocklist_matches=matches)

    def analyze_image(self, image: bytes) -> dict[str, int | None]:
        """Four severity levels (0/2/4/6) per category for a downscaled copy of ``image`` (None: listed
        without a severity)."""
        try:
            data, _mime = image_prepare(image)
        except UnreadableImage as exc:
            raise ScreenerUnavailable(str(exc), retryable=False) from exc
        body = self._request(
            "POST",
            "image:analyze",
            json={
                "image": {"content": base64.b64encode(data).decode()},
                "categories": list(TEXT_CATEGORIES),
                "outputType": "FourSeverityLevels",
            },
        )
        return {str(item.get("category", "")): _severity(item) for item in _list(body, "categoriesAnalysis")}

    def shield_prompt(self, text: str) -> bool:
        """True when Prompt Shields sees a jailbreak attempt in any chunk of the user's prompt."""
        for chunk in text_chunks(text):
            body = self._request("POST", "text:shieldPrompt", json={"userPrompt": chunk, "documents": []})
            analysis = body.get("userPromptAnalysis")
            if not isinstance(analysis, dict) or "attackDetected" not in analysis:
                raise ScreenerUnavailable("Azure Prompt Shields sent a reply without its verdict.")
            if analysis["attackDetected"]:
                return True
        return False

    # -- blocklists ---------------------------------------------------------------------------------

    def blocklist_upsert(self, name: str, *, description: str) -> dict[str, Any]:
        return self._request(
            "PATCH",
            f"text/blocklists/{name}",
            json={"description": description},
            content_type="application/merge-patch+json",
        )

    def blocklist_items(self, name: str) -> Iterator[dict[str, Any]]:
        body = self._request("GET", f"text/blocklists/{name}/blocklistItems")
        while True:
            yield from _list(body, "value")
            next_link = body.get("nextLink")
            if not next_link:
                return
            next_link = str(next_link)
            if next_link.startswith("/"):
                next_link = (
                    self.endpoint + ("" if next_link.startswith("/contentsafety") else "/contentsafety") + next_link
                )
            body = self._request("GET", "", url=next_link)

    def blocklist_add_items(self, name: str, terms: list[str]) -> list[dict[str, Any]]:
        added: list[dict[str, Any]] = []
        for start in range(0, len(terms), BLOCKLIST_BATCH):
            batch = terms[start : start + BLOCKLIST_BATCH]
            body = self._request(
                "POST",
                f"text/blocklists/{name}:addOrUpdateBlocklistItems",
                json={"blocklistItems": [{"description": "Imprimatur workspace blocklist", "text": t} for t in batch]},
            )
            added += _list(body, "blocklistItems")
        return added

    def blocklist_remove_items(self, name: str, item_ids: list[str]) -> None:
        for start in range(0, len(item_ids), BLOCKLIST_BATCH):
            self._request(
                "POST",
                f"text/blocklists/{name}:removeBlocklistItems",
                json={"blocklistItemIds": item_ids[start : start + BLOCKLIST_BATCH]},
            )


def _list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = body.get(key)
    if value is None and key != "categoriesAnalysis":
        return []
    if not isinstance(value, list):
        raise ScreenerUnavailable(f"Azure AI Content Safety sent a reply without {key}.")
    return [item for item in value if isinstance(item, dict)]


def _severity(item: dict[str, Any]) -> int | None:
    """The category's severity; None when the reply leaves it out (optional in the 2024-09-01 spec). A
    value that is present but not 0..7 is still a reply we cannot trust."""
    severity = item.get("severity")
    if severity is None:
        return None
    if isinstance(severity, bool) or not isinstance(severity, int) or not 0 <= severity <= 7:
        raise ScreenerUnavailable("Azure AI Content Safety sent a severity outside 0..7.")
    return severity


def _error_for(response: httpx2.Response) -> ScreenerUnavailable:
    detail = ""
    try:
        error = response.json().get("error") or {}
        detail = str(error.get("message") or error.get("code") or "")[:300]
    except (ValueError, AttributeError):
        detail = response.text[:300]
    status = response.status_code
    if status in (401, 403):
        message = f"Azure AI Content Safety refused the key (check AZURE_CONTENT_SAFETY_KEY and the endpoint). {detail}"
        return ScreenerUnavailable(message.strip(), status_code=status, retryable=False)
    if status == 429:
        return ScreenerUnavailable(
            "Azure AI Content Safety is rate-limiting requests; we will try again.", status_code=status
        )
    if status >= 500:
        return ScreenerUnavailable(f"Azure AI Content Safety had a server error ({status}).", status_code=status)
    return ScreenerUnavailable(
        f"Azure AI Content Safety rejected the request ({status}): {detail}".strip(),
        status_code=status,
        retryable=False,
    )


def blocklist_sync(*, workspace: Workspace, http_client: httpx2.Client | None = None) -> dict[str, int]:
    """Make the workspace's Azure blocklist hold exactly its ``blocklist_terms``: create or update the
    list (PATCH), add or update the terms, remove terms that were taken off the workspace list.
    Returns counts. Raises ``ScreenerUnavailable`` when Azure is not configured or does not answer, so
    the caller (a task) can retry."""
    client = AzureContentSafetyClient.from_settings(http_client=http_client)
    if client is None:
        raise ScreenerUnavailable(
            "Azure AI Content Safety is not configured (endpoint or key missing).", retryable=False
        )
    name = blocklist_name_for(workspace)
    terms = sorted(
        {t.strip()[:BLOCKLIST_ITEM_MAX] for t in workspace.blocklist_terms or [] if isinstance(t, str) and t.strip()}
    )
    client.blocklist_upsert(name, description=f"Imprimatur blocklist for {workspace.name}"[:1024])
    wanted = {t.casefold() for t in terms}
    stale = [
        str(item.get("blocklistItemId"))
        for item in client.blocklist_items(name)
        if str(item.get("text", "")).casefold() not in wanted
    ]
    if terms:
        client.blocklist_add_items(name, terms)
    if stale:
        client.blocklist_remove_items(name, stale)
    return {"terms": len(terms), "removed": len(stale)}
