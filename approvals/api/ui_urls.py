"""The workspace admins' API key page, included at the site root (``/w/<slug>/settings/api-keys/``)."""

from django.urls import path

from approvals.api.views import keys
from studio.lib.urlconverters import register_id_converter

register_id_converter()

app_name = "api_keys"

urlpatterns = [
    path("w/<slug:slug>/settings/api-keys/", keys.key_list, name="list"),
    path("w/<slug:slug>/settings/api-keys/<id:pk>/revoke/", keys.key_revoke, name="revoke"),
]
