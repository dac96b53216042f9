"""Cost and operations URLs, included at the site root."""

from django.urls import path  # noqa: F401 - routes are added here

from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "costs"

urlpatterns: list = []
