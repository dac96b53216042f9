from django.urls import path

from studio.generation import views

app_name = "studio"
urlpatterns = [
    path("", views.home, name="home"),
    path("styleguide/", views.styleguide, name="styleguide"),
    path("w/<slug:slug>/", views.workspace_detail, name="workspace"),
    path("w/<slug:slug>/campaigns/<slug:campaign_slug>/", views.campaign_detail, name="campaign"),
    path("w/<slug:slug>/drafts/<int:pk>/", views.draft_detail, name="draft"),
    path("w/<slug:slug>/drafts/<int:pk>/save/", views.draft_save, name="draft_save"),
    path(
        "w/<slug:slug>/drafts/<int:pk>/versions/<int:number>/diff/", views.draft_version_diff, name="draft_version_diff"
    ),
    path("w/<slug:slug>/drafts/<int:pk>/plan/", views.generate_preview, name="generate_preview"),
    path("w/<slug:slug>/drafts/<int:pk>/generate/", views.generate, name="generate"),
    path("w/<slug:slug>/jobs/<int:pk>/", views.job_status, name="job_status"),
    path("w/<slug:slug>/variants/<int:pk>/", views.variant_detail, name="variant"),
    path("w/<slug:slug>/variants/<int:pk>/edit/", views.variant_edit, name="variant_edit"),
    path("w/<slug:slug>/variants/<int:pk>/compare/", views.compare, name="compare"),
    path("w/<slug:slug>/variants/<int:pk>/localise/", views.variant_localise, name="variant_localise"),
    path("w/<slug:slug>/drafts/<int:pk>/tree/", views.draft_tree, name="draft_tree"),
    path("w/<slug:slug>/jobs/<int:pk>/rerun/", views.job_rerun, name="job_rerun"),
]
