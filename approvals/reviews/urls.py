"""Review URLs, included at the site root (``studio/root_urls.py``).

Workspace pages live under ``/w/<slug>/reviews/``. Two pages span workspaces and stay user-level: the
combined queue ``/reviews/`` (a reviewer of several brands works one list, soonest due first; it
filters by workspace) and the inbox ``/inbox/``. The old ``/reviews/<pk>/``-style URLs redirect.
"""

from django.urls import path

from approvals.reviews import views
from approvals.reviews.views import legacy, run_review
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

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
    path(W + "runs/", run_review.run_review_list, name="run_review_list"),
    path(W + "runs/<id:run_pk>/", run_review.run_review, name="run_review"),
    path(W + "runs/<id:run_pk>/decide/", run_review.run_review_decide, name="run_review_decide"),
    path(W + "submit/<id:variant_id>/", views.variant_submit, name="variant_submit"),
    path(W + "override/<id:variant_id>/", views.request_override, name="request_override"),
    path(W + "comments/<id:pk>/resolve/", views.comment_resolve, name="comment_resolve"),
    path(W + "<id:pk>/", views.review_detail, name="review_detail"),
    path(W + "<id:pk>/stages/<id:stage_pk>/decide/", views.review_decide, name="review_decide"),
    path(W + "<id:pk>/comments/", views.comment_add, name="comment_add"),
    path(W + "decisions/<id:pk>/undo/", views.decision_undo, name="decision_undo"),
    path(W + "decisions/<id:pk>/reopen/", views.decision_reopen, name="decision_reopen"),
    # the URLs before the workspace scheme: look up for the user, then 301 (pages) / 308 (posts)
    path("reviews/inbox/", legacy.inbox, name="legacy_inbox"),
    path("reviews/inbox/read/", legacy.inbox_mark_read, name="legacy_inbox_mark_read"),
    path("reviews/submit/<id:variant_id>/", legacy.variant_submit, name="legacy_variant_submit"),
    path("reviews/override/<id:variant_id>/", legacy.request_override, name="legacy_request_override"),
    path("reviews/comments/<id:pk>/resolve/", legacy.comment_resolve, name="legacy_comment_resolve"),
    path("reviews/<id:pk>/", legacy.review_detail, name="legacy_review_detail"),
    path("reviews/<id:pk>/stages/<id:stage_pk>/decide/", legacy.review_decide, name="legacy_review_decide"),
    path("reviews/<id:pk>/comments/", legacy.comment_add, name="legacy_comment_add"),
]
