"""``{% can_manage_credentials user workspace as flag %}``: whether to link to the certificate page."""

from django import template

from studio.core.permissions import can_administer

register = template.Library()


@register.simple_tag
def can_manage_credentials(user, workspace) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and can_administer(user, workspace)
