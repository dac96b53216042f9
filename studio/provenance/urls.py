"""Content Credentials URLs, included at the site root (``/w/<slug>/settings/content-credentials/``)."""

from django.urls import path

from studio.provenance import views

app_name = "provenance"

urlpatterns = [
    path("w/<slug:slug>/settings/content-credentials/", views.credentials, name="credentials"),
    path("w/<slug:slug>/settings/content-credentials/remove/", views.credentials_remove, name="credentials_remove"),
]
