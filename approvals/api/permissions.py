"""What a key may do: its scopes (``read`` for every GET; each write names its own), then its user's
roles, which the services check themselves (a key never gets more than its user)."""

from __future__ import annotations

from rest_framework import permissions

from approvals.api.models import ApiKey, ApiScope


class KeyScopes(permissions.BasePermission):
    """A view names the scope each method needs in ``required_scopes`` (``{"GET": "read"}``); methods
    it does not name need ``read`` if they are safe and are refused otherwise."""

    message = "This API key may not do that."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # the view answers 405 Method Not Allowed, which is the more useful answer
        scopes = getattr(view, "required_scopes", {})
        needed = scopes.get(request.method)
        if needed is None:
            needed = ApiScope.READ if request.method in permissions.SAFE_METHODS else None
        if needed is None:
            return False
        if not key.has_scope(needed):
            self.message = f"This API key lacks the “{needed}” scope. Ask a workspace admin for a key that has it."
            return False
        return True
