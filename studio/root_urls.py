from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path


def login_view(request):
    """The standard login, plus the demo logins on machines that seeded them (never in production)."""
    context = {}
    if settings.IMPRIMATUR_SHOW_DEMO_LOGINS:
        from studio.generation.management.commands.seed_demo import demo_logins

        context["demo_logins"] = demo_logins()
    return auth_views.LoginView.as_view(extra_context=context)(request)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("approvals.reviews.urls")),
    path("", include("approvals.publishing.urls")),
    path("compliance/", include("approvals.compliance.urls")),
    path("", include("studio.generation.urls")),
]

if settings.DEBUG or not settings.AWS_STORAGE_BUCKET_NAME:
    from django.views.static import serve

    # Local-file storage only: in production media comes from object storage.
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
