from django.urls import path

from studio.generation import views
from studio.generation.views.focal import variant_focal_point
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "studio"
urlpatterns = [
    path("", views.home, name="home"),
    path("styleguide/", views.styleguide, name="styleguide"),
    path("w/<slug:slug>/", views.workspace_detail, name="workspace"),
    path("w/<slug:slug>/campaigns/<slug:campaign_slug>/", views.campaign_detail, name="campaign"),
    path("w/<slug:slug>/drafts/<id:pk>/", views.draft_detail, name="draft"),
    path("w/<slug:slug>/drafts/<id:pk>/save/", views.draft_save, name="draft_save"),
    path(
        "w/<slug:slug>/drafts/<id:pk>/versions/<id:number>/diff/", views.draft_version_diff, name="draft_version_diff"
    ),
    path("w/<slug:slug>/drafts/<id:pk>/plan/", views.generate_preview, name="generate_preview"),
    path("w/<slug:slug>/drafts/<id:pk>/generate/", views.generate, name="generate"),
    path("w/<slug:slug>/jobs/<id:pk>/", views.job_status, name="job_status"),
    path("w/<slug:slug>/variants/<id:pk>/", views.variant_detail, name="variant"),
    path("w/<slug:slug>/variants/<id:pk>/edit/", views.variant_edit, name="variant_edit"),
    path("w/<slug:slug>/variants/<id:pk>/focal-point/", variant_focal_point, name="variant_focal_point"),
    path("w/<slug:slug>/variants/<id:pk>/image", views.variant_image, name="variant_image"),
    path("w/<slug:slug>/variants/<id:pk>/thumbnail", views.variant_thumbnail, name="variant_thumbnail"),
    path("w/<slug:slug>/variants/<id:pk>/compare/", views.compare, name="compare"),
    path("w/<slug:slug>/variants/<id:pk>/localise/", views.variant_localise, name="variant_localise"),
    path("w/<slug:slug>/drafts/<id:pk>/tree/", views.draft_tree, name="draft_tree"),
    path("w/<slug:slug>/jobs/<id:pk>/rerun/", views.job_rerun, name="job_rerun"),
    path("w/<slug:slug>/variants/<id:pk>/progress/", views.variant_progress, name="variant_progress"),
]
