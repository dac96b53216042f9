from django.urls import path

from approvals.compliance import views

app_name = "compliance"
urlpatterns = [
    path("", views.log, name="log"),
    path("verify/", views.verify, name="verify"),
    path("export/", views.export, name="export"),
    path("variants/<int:pk>/", views.trail, name="trail"),
    path("variants/<int:pk>/trail.json", views.trail_json, name="trail_json"),
    path("variants/<int:pk>/audit-pack.zip", views.audit_pack, name="audit_pack"),
]
