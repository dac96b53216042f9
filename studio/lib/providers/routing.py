"""Foundry routing modes as per-deployment configuration.

Foundry's Mode 1 (size tiers ``smimage``/``image``/``xlimage``) and Mode 2 (token buckets 16..96) are not
in any public API spec, so how a request selects them is data: ``deployment.routing`` maps each tier or
bucket to the extra request-body fields that select it, e.g.
``{"size_tiers": {"smimage": {"size_class": "smimage"}}, "token_buckets": {"48": {"token_bucket": 48}}}``.
The chosen route is recorded on every job ("explicit", "tier:smimage", "bucket:48"). Regulated workspaces
only get explicit sizes: the deterministic choice an auditor can reproduce.
"""

from __future__ import annotations

import copy
from typing import Any

ROUTE_EXPLICIT = "explicit"
SIZE_TIERS = ("smimage", "image", "xlimage")
TOKEN_BUCKETS = (16, 24, 36, 48, 64, 96)
TIER_LABELS = {"smimage": "Small image tier", "image": "Standard image tier", "xlimage": "Extra-large image tier"}


class RouteError(ValueError):
    """A route the deployment does not offer."""


def _tiers(deployment) -> dict[str, Any]:
    routing = deployment.routing if isinstance(deployment.routing, dict) else {}
    tiers = routing.get("size_tiers") if isinstance(routing.get("size_tiers"), dict) else {}
    return {name: tiers[name] for name in SIZE_TIERS if isinstance(tiers.get(name), dict)}


def _buckets(deployment) -> dict[int, Any]:
    routing = deployment.routing if isinstance(deployment.routing, dict) else {}
    buckets = routing.get("token_buckets") if isinstance(routing.get("token_buckets"), dict) else {}
    return {n: buckets[str(n)] for n in TOKEN_BUCKETS if isinstance(buckets.get(str(n)), dict)}


def available_routes(deployment, *, regulated: bool) -> list[tuple[str, str]]:
    """(route, label) choices for a form. Explicit is always first and the only one when regulated."""
    routes = [(ROUTE_EXPLICIT, "Explicit size (deterministic)")]
    if regulated:
        return routes
    routes += [(f"tier:{name}", TIER_LABELS[name]) for name in _tiers(deployment)]
    routes += [
        (f"bucket:{n}", f"Token bucket {n} ({'faster, cheaper' if n < 48 else 'more detail'})")
        for n in _buckets(deployment)
    ]
    return routes


def route_overrides(deployment, route: str) -> dict[str, Any]:
    """Extra request-body fields for ``route`` (empty for explicit). Raises ``RouteError`` for a route the
    deployment does not configure."""
    if route == ROUTE_EXPLICIT or not route:
        return {}
    kind, _, name = route.partition(":")
    if kind == "tier" and name in _tiers(deployment):
        return copy.deepcopy(_tiers(deployment)[name])
    if kind == "bucket" and name.isdigit() and int(name) in _buckets(deployment):
        return copy.deepcopy(_buckets(deployment)[int(name)])
    raise RouteError(f"The deployment {deployment.name} has no routing option {route!r}.")
