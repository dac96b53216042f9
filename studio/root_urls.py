from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path


def login_view(request):
    """The standard login, plus the demo logins on machines that seeded them (never in production)."""
    context = {}
    if settings.IMPRIMATUR_SHOW_DEMO_LOGINS:
        # Only machines that show demo logins load the seeding command (and its demo data) at all.
        from studio.generation.management.commands.seed_demo import demo_logins

        context["demo_logins"] = demo_logins()
    return auth_views.LoginView.as_view(extra_context=context)(request)


# The site's own error pages in every setting (Django's debug page only with DJANGO_DEBUG=1).
handler400 = "studio.core.error_pages.bad_request"
handler403 = "studio.core.error_pages.permission_denied"
handler404 = "studio.core.error_pages.page_not_found"
handler500 = "studio.core.error_pages.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("approvals.reviews.urls")),
    path("", include("approvals.publishing.urls")),
    path("", include("approvals.compliance.urls")),  # /compliance/ and /w/<slug>/compliance/
    path("", include("studio.runs.urls")),
    path("", include("approvals.costs.urls")),
    path("", include("approvals.webhooks.urls")),
    path("api/v1/", include("approvals.api.urls")),
    path("", include("approvals.api.ui_urls")),  # /w/<slug>/settings/api-keys/
    path("", include("studio.provenance.urls")),  # /w/<slug>/settings/content-credentials/
    path("", include("studio.generation.urls")),
]

if not settings.AWS_STORAGE_BUCKET_NAME:
    from pathlib import Path

    from django.views.static import serve

    def published_media(request, path: str):
        """Local-file storage only: published renditions are public by design. Variants, thumbnails,
        masks and references have no public route: the studio serves them to members only."""
        return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / "published")

    urlpatterns += [path("media/published/<path:path>", published_media)]
