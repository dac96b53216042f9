"""``{% webhooks_settings_link workspace %}``: the workspace page's link to the webhook settings, for
workspace admins only (everyone else would meet a 403)."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html

from studio.core.permissions import can_administer

register = template.Library()


@register.simple_tag(takes_context=True)
def webhooks_settings_link(context: template.Context, workspace) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can_administer(user, workspace):
        return ""
    url = reverse("webhooks:endpoint_list", args=[workspace.slug])
    return format_html('<a class="btn btn-ghost btn-sm" href="{}">Webhooks</a>', url)
