"""Small presentation helpers shared by every template: money, badges, progress steps, navigation.

They exist so templates stay free of formatting logic and so the strict Content Security Policy can
hold: widths are expressed as step classes (``pw-35``) instead of inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.core.paginator import Page, Paginator
from django.urls import NoReverseMatch, reverse

from studio.core.money import money_text

register = template.Library()

EMPTY = "—"


@register.filter
def money(value: Any) -> str:
    """A cost as money, by the one rule of ``studio.core.money``: to the cent (``$49.65``), and amounts
    under a cent with two significant digits (``$0.0042``). ``None`` shows a dash, not "$0.00"."""
    return money_text(value)


def _label_for(status: str) -> str:
    return str(status).replace("_", " ").replace("-", " ").capitalize()


@register.inclusion_tag("partials/status_badge.html")
def status_badge(status: Any, label: str | None = None) -> dict[str, str]:
    """Render the status pill. Pass the model's display label (``obj.get_status_display``) when there
    is one; otherwise the raw status is turned into words."""
    status = "" if status is None else str(status)
    return {"status": status, "label": label or _label_for(status)}


@register.filter
def progress_step(value: Any) -> str:
    """Map 0..100 to the nearest ``pw-N`` class (steps of 5) for ``.progress-bar``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    number = min(100.0, max(0.0, number))
    return f"pw-{int(round(number / 5.0) * 5)}"


@register.filter
def clamp_percent(value: Any) -> int:
    """0..100 as an int, for ``<progress value>`` and screen-reader text."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(min(100.0, max(0.0, number)))


@register.filter
def elided_pages(page_obj: Page, on_each_side: int = 2) -> list[Any]:
    """Page numbers around the current one with ``Paginator.ELLIPSIS`` gaps, so long lists keep a
    short pagination bar."""
    return list(page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=on_each_side, on_ends=1))


@register.filter
def is_ellipsis(value: Any) -> bool:
    return value == Paginator.ELLIPSIS


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: str  # "" | "page" | "true": the aria-current value
    count: int = 0


# (label, url name, the URL namespaces that also count as "this section"). The studio's section covers
# the layers that extend its pages: production runs and publishing (a marketer's publish and publication
# pages). Costs shows only to the roles that may see costs (``nav_roles.NEEDS``).
PRIMARY_NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Studio", "studio:home", ("studio", "runs", "publishing")),
    ("Review queue", "approvals:queue", ("approvals",)),
    ("Compliance", "compliance:log", ("compliance",)),
    ("Inbox", "approvals:inbox", ()),
    ("Costs", "costs:index", ("costs",)),
)


def _safe_reverse(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def primary_nav(context: template.Context) -> list[NavItem]:
    """The header's links, skipping any whose URL is not wired yet, with exactly one marked current.

    Exact path match gives ``aria-current="page"``; otherwise the longest URL prefix (or, failing that,
    one of the item's URL namespaces: the studio home is ``/``) marks the section with ``aria-current="true"``."""
    request = context.get("request")
    path = getattr(request, "path", "") or ""
    match = getattr(request, "resolver_match", None)
    namespace = getattr(match, "namespace", "") or ""
    unread = context.get("nav_unread_count") or 0

    resolved = [(label, _safe_reverse(name), ns) for label, name, ns in PRIMARY_NAV]
    best_index, best_score = -1, 0
    for index, (_label, url, ns) in enumerate(resolved):
        if not url:
            continue
        if path == url:
            score = 10_000
        elif url != "/" and path.startswith(url):
            score = len(url) + 10
        elif namespace and namespace in ns:
            score = 1
        else:
            score = 0
        if score > best_score:
            best_index, best_score = index, score

    items = []
    for index, (label, url, _ns) in enumerate(resolved):
        if not url:
            continue
        current = ""
        if index == best_index:
            current = "page" if best_score == 10_000 else "true"
        items.append(NavItem(label=label, url=url, current=current, count=unread if label == "Inbox" else 0))
    return items


@register.simple_tag
def sample_page(number: int = 3, total: int = 240, per_page: int = 20) -> Page:
    """A real ``Page`` over dummy rows, so the style guide can render the pagination partial."""
    return Paginator(range(total), per_page).get_page(number)
