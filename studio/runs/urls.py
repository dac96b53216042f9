"""Production runs URLs, included at the site root."""

from django.urls import path

from studio.lib.urlconverters import register_id_converter
from studio.runs import views

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "runs"

urlpatterns: list = [
    path("w/<slug:slug>/campaigns/<slug:campaign_slug>/runs/", views.run_list, name="run_list"),
    path("w/<slug:slug>/campaigns/<slug:campaign_slug>/runs/new/", views.run_new, name="run_new"),
    path("w/<slug:slug>/runs/<id:pk>/", views.run_detail, name="run"),
    path("w/<slug:slug>/runs/<id:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("w/<slug:slug>/runs/<id:pk>/retry/", views.run_retry, name="run_retry"),
]
