"""``{{ amount|cost }}`` ("$49.65") and ``{{ unit|unit_cost }}`` ("$0.0042" for sub-cent unit costs),
and ``{{ cell|cell:kind }}`` for the report tables (see ``approvals.costs.money`` and ``tables``)."""

from django import template

from approvals.costs.money import money
from approvals.costs.tables import format_cell

register = template.Library()


@register.filter
def cost(value, currency: str = "USD") -> str:
    return money(value, currency or "USD")


@register.filter
def unit_cost(value, currency: str = "USD") -> str:
    return money(value, currency or "USD", unit=True)


@register.filter
def cell(value, kind: str) -> str:
    return format_cell(value, kind)
