"""Publishing URLs, included at the site root next to the review URLs."""

from django.urls import path

from approvals.publishing import publish_views, run_views, views
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "publishing"

urlpatterns = [
    path("w/<slug:slug>/variants/<id:pk>/publish/", publish_views.variant_publish, name="variant_publish"),
    path("w/<slug:slug>/reviews/<id:pk>/publish/", publish_views.publish, name="publish"),
    path("w/<slug:slug>/publications/<id:pk>/", views.publication_detail, name="publication_detail"),
    path("w/<slug:slug>/runs/<id:run_pk>/publish/", run_views.run_publish, name="run_publish"),
    path("w/<slug:slug>/publications/<id:pk>/retract/", views.publication_retract, name="publication_retract"),
    path("w/<slug:slug>/publications/<id:pk>/retry/", views.publication_retry, name="publication_retry"),
    path("w/<slug:slug>/publications/<id:pk>/file/", views.publication_file, name="publication_file"),
    path(
        "w/<slug:slug>/publications/progress/<id:variant_id>/<id:format_id>/",
        views.publication_progress,
        name="publication_progress",
    ),
    # before the workspace scheme: look up for the user, then 301 (pages) / 308 (posts)
    path("reviews/<id:pk>/publish/", views.legacy_publish, name="legacy_publish"),
    path("reviews/publications/<id:pk>/", views.legacy_publication_detail, name="legacy_publication_detail"),
    path(
        "reviews/publish/<id:variant_id>/<id:format_id>/",
        views.legacy_publication_progress,
        name="legacy_publication_progress",
    ),
]
