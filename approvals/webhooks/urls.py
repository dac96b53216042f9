"""Webhooks URLs, included at the site root: the workspace admins' settings pages."""

from django.urls import path

from approvals.webhooks import views
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "webhooks"

urlpatterns = [
    path("w/<slug:slug>/settings/webhooks/", views.endpoint_list, name="endpoint_list"),
    path("w/<slug:slug>/settings/webhooks/<id:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path("w/<slug:slug>/settings/webhooks/<id:pk>/edit/", views.endpoint_update, name="endpoint_update"),
    path("w/<slug:slug>/settings/webhooks/<id:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("w/<slug:slug>/settings/webhooks/<id:pk>/rotate/", views.endpoint_rotate, name="endpoint_rotate"),
    path("w/<slug:slug>/settings/webhooks/<id:pk>/toggle/", views.endpoint_toggle, name="endpoint_toggle"),
    path(
        "w/<slug:slug>/settings/webhooks/<id:pk>/deliveries/<id:delivery_pk>/redeliver/",
        views.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
