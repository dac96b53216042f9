"""What the API accepts: request bodies (unknown fields refused) and list filters (query parameters).

Shapes only, as forms are: the rules (roles, budgets, capabilities, review state) are the services'."""

from __future__ import annotations

from rest_framework import serializers

from approvals.api.base import IdField, StrictSerializer, refuse_nul
from approvals.api.models import ApiScope
from approvals.reviews.models import DecisionOutcome, ReviewStatus
from studio.generation.models import JobStatus, VariantStatus
from studio.lib.sizing import MAX_EDGE_PX

LOCALE_MAX = 20


class _TextMap(serializers.DictField):
    """``{"name": "value"}`` of short strings, NUL refused."""

    def __init__(self, *, label: str, **kwargs):
        super().__init__(child=serializers.CharField(max_length=4000, allow_blank=True), **kwargs)
        self._label = label

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return refuse_nul(value, self._label)


# --- bodies ------------------------------------------------------------------------------------------


class DraftCreateInput(StrictSerializer):
    campaign = IdField()
    title = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=30000)
    variables = _TextMap(label="Template values", required=False, default=dict)
    locale_copy = _TextMap(label="In-image copy", required=False, default=dict)


class DraftVersionInput(StrictSerializer):
    text = serializers.CharField(max_length=30000)
    variables = _TextMap(label="Template values", required=False, default=dict)
    locale_copy = _TextMap(label="In-image copy", required=False, default=dict)


class JobLaunchInput(StrictSerializer):
    draft = IdField(help_text="The draft whose latest version is generated")
    deployment = IdField(required=False, help_text="Defaults to the workspace's default deployment")
    target_format = IdField(required=False, help_text="A format of the draft's campaign; or give width and height")
    width = serializers.IntegerField(min_value=16, max_value=MAX_EDGE_PX, required=False)
    height = serializers.IntegerField(min_value=16, max_value=MAX_EDGE_PX, required=False)
    n = serializers.IntegerField(min_value=1, max_value=10, default=1)
    quality = serializers.CharField(max_length=20, default="auto")
    output_format = serializers.CharField(max_length=10, default="png")
    locale = serializers.CharField(max_length=LOCALE_MAX, allow_blank=True, default="")
    route = serializers.CharField(max_length=40, default="explicit")

    def validate(self, data):
        if data.get("target_format") is None and (data.get("width") is None or data.get("height") is None):
            raise serializers.ValidationError(
                {"target_format": ["Choose a format, or give both width and height in pixels."]}
            )
        return data


class RunLaunchInput(StrictSerializer):
    campaign = IdField()
    draft = IdField(required=False, help_text="Generate from this draft's latest version...")
    master = IdField(required=False, help_text="...or derive every cell from this approved image")
    deployment = IdField(required=False, help_text="Defaults to the workspace's default deployment")
    formats = serializers.ListField(child=IdField(), max_length=100, required=False, help_text="Default: all")
    locales = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=LOCALE_MAX),
        max_length=100,
        required=False,
        help_text="Default: the campaign's locales",
    )
    n = serializers.IntegerField(min_value=1, max_value=10, default=1)
    quality = serializers.CharField(max_length=20, default="auto")
    only_what_fits = serializers.BooleanField(default=False)

    def validate(self, data):
        if bool(data.get("draft")) == bool(data.get("master")):
            raise serializers.ValidationError({"draft": ["Give exactly one of draft and master."]})
        return data


class ReviewSubmitInput(StrictSerializer):
    variant = IdField()


class DecisionInput(StrictSerializer):
    stage = IdField(required=False, help_text="Defaults to the stage of the review that is waiting for a decision")
    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
    note = serializers.CharField(max_length=4000, allow_blank=True, default="")
    expected_sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$", help_text="The sha256 of the image you looked at: refused if it changed since"
    )
    comments = serializers.ListField(child=IdField(), max_length=100, default=list)


class PublishInput(StrictSerializer):
    variant = IdField()
    target_format = IdField()
    destination = IdField(required=False, help_text="One of the campaign's destinations; default: the studio's storage")


class RetractInput(StrictSerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why it is withdrawn (kept in the audit log)")
    withdraw_approval = serializers.BooleanField(
        default=False, help_text="Also withdraw the approval: publishing again then needs a new decision"
    )


class KeyCreateForm(StrictSerializer):
    """The key form of the settings page (parsed from form data, so also strict)."""

    name = serializers.CharField(max_length=100)
    user = IdField()
    scopes = serializers.MultipleChoiceField(choices=ApiScope.choices)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


# --- list filters --------------------------------------------------------------------------------------


class Filter(serializers.Serializer):
    """Query parameters: given means given. An empty value (``?draft=``) is refused, not ignored, unless
    the field allows blank text (``?locale=`` filters on "no locale")."""

    def to_internal_value(self, data):
        empty = [
            name
            for name, field in self.fields.items()
            if name in data and data.get(name) == "" and not getattr(field, "allow_blank", False)
        ]
        if empty:
            raise serializers.ValidationError({name: ["Give a value or leave the parameter out."] for name in empty})
        return super().to_internal_value(data)


class CampaignFilter(Filter):
    slug = serializers.SlugField(max_length=60, required=False)


class DraftFilter(Filter):
    campaign = IdField(required=False)


class JobFilter(Filter):
    campaign = IdField(required=False)
    draft = IdField(required=False)
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)


class VariantFilter(Filter):
    campaign = IdField(required=False)
    draft = IdField(required=False)
    job = IdField(required=False)
    status = serializers.ChoiceField(choices=VariantStatus.choices, required=False)
    locale = serializers.CharField(max_length=LOCALE_MAX, required=False)


class ReviewFilter(Filter):
    variant = IdField(required=False)
    status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)


class PublicationFilter(Filter):
    campaign = IdField(required=False)
    format = IdField(required=False, help_text="A campaign format id")
    locale = serializers.CharField(max_length=LOCALE_MAX, required=False, allow_blank=True)
    variant = IdField(required=False)
    since = serializers.DateTimeField(required=False, help_text="Published at or after this moment (ISO 8601)")


class RunFilter(Filter):
    campaign = IdField(required=False)


class AuditExportFilter(Filter):
    format = serializers.ChoiceField(choices=[("csv", "CSV"), ("json", "JSON")], default="json")
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    action = serializers.CharField(max_length=80, required=False, help_text="An action prefix, e.g. approvals.review.")
