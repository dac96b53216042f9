"""Compliance URLs.

The audit log, its verification and its export stay at ``/compliance/`` (included from the root
URLconf): one log spans every workspace the person audits, filtered by workspace, the way the combined
review queue does. One asset's trail is a workspace page, under ``/w/<slug>/compliance/``; the old
``/compliance/variants/<pk>/...`` URLs redirect after a lookup scoped to the user.
"""

from django.urls import path

from approvals.compliance import views
from studio.lib.urlconverters import register_id_converter

register_id_converter()  # <id:...>: digits within 64 bits, else 404

app_name = "compliance"

W = "w/<slug:slug>/compliance/variants/<id:pk>/"

urlpatterns = [
    # user-level: spans the person's audited workspaces
    path("compliance/", views.log, name="log"),
    path("compliance/verify/", views.verify, name="verify"),
    path("compliance/export/", views.export, name="export"),
    # one workspace
    path(W, views.trail, name="trail"),
    path(W + "trail.json", views.trail_json, name="trail_json"),
    path(W + "audit-pack.zip", views.audit_pack, name="audit_pack"),
    # the URLs before the workspace scheme: look up for the user, then 301
    path("compliance/variants/<id:pk>/", views.legacy_trail, name="legacy_trail"),
    path("compliance/variants/<id:pk>/trail.json", views.legacy_trail_json, name="legacy_trail_json"),
    path("compliance/variants/<id:pk>/audit-pack.zip", views.legacy_audit_pack, name="legacy_audit_pack"),
]
