"""Publishing URLs, included at the site root next to the review URLs."""

from django.urls import path

from approvals.publishing import views

app_name = "publishing"

urlpatterns = [
    path("w/<slug:slug>/reviews/<int:pk>/publish/", views.publish, name="publish"),
    path("w/<slug:slug>/publications/<int:pk>/", views.publication_detail, name="publication_detail"),
    path(
        "w/<slug:slug>/publications/progress/<int:variant_id>/<int:format_id>/",
        views.publication_progress,
        name="publication_progress",
    ),
    # before the workspace scheme: look up for the user, then 301 (pages) / 308 (posts)
    path("reviews/<int:pk>/publish/", views.legacy_publish, name="legacy_publish"),
    path("reviews/publications/<int:pk>/", views.legacy_publication_detail, name="legacy_publication_detail"),
    path(
        "reviews/publish/<int:variant_id>/<int:format_id>/",
        views.legacy_publication_progress,
        name="legacy_publication_progress",
    ),
]
