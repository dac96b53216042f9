"""Review URLs, included at the site root (``studio/root_urls.py``).

Workspace pages live under ``/w/<slug>/reviews/``. Two pages span workspaces and stay user-level: the
combined queue ``/reviews/`` (a reviewer of several brands works one list, soonest due first; it
filters by workspace) and the inbox ``/inbox/``. The old ``/reviews/<pk>/``-style URLs redirect.
"""

from django.urls import path

from approvals.reviews import views
from approvals.reviews.views import legacy

app_name = "approvals"

W = "w/<slug:slug>/reviews/"

urlpatterns = [
    # user-level: spans the user's workspaces
    path("reviews/", views.queue, name="queue"),
    path("reviews/bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_mark_read, name="inbox_mark_read"),
    # one workspace
    path(W, views.workspace_queue, name="workspace_queue"),
    path(W + "bulk-approve/", views.workspace_bulk_approve, name="workspace_bulk_approve"),
    path(W + "submit/<int:variant_id>/", views.variant_submit, name="variant_submit"),
    path(W + "override/<int:variant_id>/", views.request_override, name="request_override"),
    path(W + "comments/<int:pk>/resolve/", views.comment_resolve, name="comment_resolve"),
    path(W + "<int:pk>/", views.review_detail, name="review_detail"),
    path(W + "<int:pk>/stages/<int:stage_pk>/decide/", views.review_decide, name="review_decide"),
    path(W + "<int:pk>/comments/", views.comment_add, name="comment_add"),
    # the URLs before the workspace scheme: look up for the user, then 301 (pages) / 308 (posts)
    path("reviews/inbox/", legacy.inbox, name="legacy_inbox"),
    path("reviews/inbox/read/", legacy.inbox_mark_read, name="legacy_inbox_mark_read"),
    path("reviews/submit/<int:variant_id>/", legacy.variant_submit, name="legacy_variant_submit"),
    path("reviews/override/<int:variant_id>/", legacy.request_override, name="legacy_request_override"),
    path("reviews/comments/<int:pk>/resolve/", legacy.comment_resolve, name="legacy_comment_resolve"),
    path("reviews/<int:pk>/", legacy.review_detail, name="legacy_review_detail"),
    path("reviews/<int:pk>/stages/<int:stage_pk>/decide/", legacy.review_decide, name="legacy_review_decide"),
    path("reviews/<int:pk>/comments/", legacy.comment_add, name="legacy_comment_add"),
]
