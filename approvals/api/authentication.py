"""``Authorization: Bearer <API key>``: the key's user becomes ``request.user``, the key ``request.auth``.

No session authentication: the API never reads cookies, so it needs no CSRF token and a signed-in
browser tab cannot be made to call it."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from approvals.api.keys import KeyRejected, apikey_authenticate
from studio.core.permissions import user_roles


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the key as: Authorization: Bearer <key>.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("That API key is not valid.") from exc
        try:
            key = apikey_authenticate(raw)
        except KeyRejected as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        user = key.user
        # The key acts with its user's roles in its workspace, read once here (cached on the user object).
        if not user_roles(user, key.workspace):
            raise exceptions.AuthenticationFailed(
                f"The person this key acts as is no longer a member of {key.workspace.name}."
            )
        return (user, key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
