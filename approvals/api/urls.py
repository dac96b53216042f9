"""Delivery API URLs, included at ``/api/v1/`` (``studio/root_urls.py``). Every resource is the key's
workspace's: the workspace is never in the path. Anything else under ``/api/v1/`` is a problem 404."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView

from approvals.api.views import approvals as a
from approvals.api.views import docs, runs
from approvals.api.views import studio as s
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "api"

urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="schema"),
    path("docs/", docs.SwaggerDocs.as_view(url_name="api:schema"), name="docs"),
    path("campaigns/", s.CampaignList.as_view(), name="campaigns"),
    path("campaigns/<id:pk>/", s.CampaignDetail.as_view(), name="campaign"),
    path("deployments/", s.DeploymentList.as_view(), name="deployments"),
    path("drafts/", s.DraftList.as_view(), name="drafts"),
    path("drafts/<id:pk>/", s.DraftDetail.as_view(), name="draft"),
    path("drafts/<id:pk>/versions/", s.DraftVersionList.as_view(), name="draft_versions"),
    path("jobs/", s.JobList.as_view(), name="jobs"),
    path("jobs/<id:pk>/", s.JobDetail.as_view(), name="job"),
    path("runs/", runs.RunList.as_view(), name="runs"),
    path("runs/<id:pk>/", runs.RunDetail.as_view(), name="run"),
    path("runs/<id:pk>/cancel/", runs.RunCancel.as_view(), name="run_cancel"),
    path("variants/", s.VariantList.as_view(), name="variants"),
    path("variants/<id:pk>/", s.VariantDetail.as_view(), name="variant"),
    path("variants/<id:pk>/image", s.VariantImage.as_view(), name="variant_image"),
    path("variants/<id:pk>/thumbnail", s.VariantThumbnail.as_view(), name="variant_thumbnail"),
    path("reviews/", a.ReviewList.as_view(), name="reviews"),
    path("reviews/<id:pk>/", a.ReviewDetail.as_view(), name="review"),
    path("reviews/<id:pk>/decisions/", a.ReviewDecide.as_view(), name="review_decide"),
    path("publications/", a.PublicationList.as_view(), name="publications"),
    path("publications/<id:pk>/", a.PublicationDetail.as_view(), name="publication"),
    path("publications/<id:pk>/file", a.PublicationFile.as_view(), name="publication_file"),
    path("publications/<id:pk>/retract/", a.PublicationRetract.as_view(), name="publication_retract"),
    path("audit/export/", a.AuditExport.as_view(), name="audit_export"),
    re_path(r"^.*$", docs.NotFound.as_view(), name="not_found"),
]
