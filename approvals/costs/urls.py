"""Cost and operations URLs, included at the site root."""

from django.urls import path

from approvals.costs import views
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "costs"

urlpatterns: list = [
    path("costs/", views.costs_index, name="index"),
    path("w/<slug:slug>/costs/", views.costs_dashboard, name="dashboard"),
    path("w/<slug:slug>/costs/c/<slug:campaign_slug>/", views.costs_campaign, name="campaign"),
    path("w/<slug:slug>/costs/c/<slug:campaign_slug>/alert/", views.costs_alert_threshold, name="alert_threshold"),
]
