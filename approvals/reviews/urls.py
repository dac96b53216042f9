from django.urls import path

from approvals.reviews import views

app_name = "approvals"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_mark_read, name="inbox_mark_read"),
    path("submit/<int:variant_id>/", views.variant_submit, name="variant_submit"),
    path("override/<int:variant_id>/", views.request_override, name="request_override"),
    path("comments/<int:pk>/resolve/", views.comment_resolve, name="comment_resolve"),
    path("publications/<int:pk>/", views.publication_detail, name="publication_detail"),
    path("publish/<int:variant_id>/<int:format_id>/", views.publication_progress, name="publication_progress"),
    path("<int:pk>/", views.review_detail, name="review_detail"),
    path("<int:pk>/stages/<int:stage_pk>/decide/", views.review_decide, name="review_decide"),
    path("<int:pk>/comments/", views.comment_add, name="comment_add"),
    path("<int:pk>/publish/", views.publish, name="publish"),
]
