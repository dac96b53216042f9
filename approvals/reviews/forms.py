"""Forms check the shape of input only; the services decide what is allowed."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from approvals.reviews.models import Comment, DecisionOutcome
from studio.core.models import Workspace
from studio.core.permissions import workspaces_for
from studio.generation.forms import name_nul_refusals
from studio.generation.models import Campaign, CampaignFormat
from studio.lib.ids import parse_id
from studio.safety.models import SafetyVerdict

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class FastSelect(forms.Select):
    """A <select> rendered in Python. The queue's filter lists every campaign and format of the reviewer's
    workspaces, and Django's one-template-include-per-option rendering was a fifth of the page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        final_attrs = self.build_attrs(self.attrs, attrs or {})
        final_attrs["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, mark_safe(" selected") if str(key) in chosen else "", label) for key, label in self.choices),  # noqa: S308 - a constant
        )
        return format_html("<select{}>{}</select>", flatatt(final_attrs), options)


class QueueFilterForm(forms.Form):
    """GET filters of the review queue. Invalid values are reported and ignored, never a server error."""

    workspace = forms.ChoiceField(required=False, label="Workspace", widget=FastSelect)
    campaign = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Campaign", widget=FastSelect)
    format = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Format", widget=FastSelect)
    locale = forms.CharField(
        required=False,
        max_length=20,
        label="Locale",
        widget=forms.TextInput(attrs={"placeholder": "Locale, e.g. ja", "size": 14}),
    )
    verdict = forms.ChoiceField(
        required=False,
        label="Safety verdict",
        widget=FastSelect,
        choices=[("", "Any"), (SafetyVerdict.ALLOW, "Allow"), (SafetyVerdict.REVIEW, "Review")],
    )
    risk = forms.ChoiceField(
        required=False,
        label="Risk",
        widget=FastSelect,
        choices=[("", "Any risk"), ("low", "Low risk"), ("medium", "Medium risk"), ("high", "High risk")],
    )
    overdue = forms.BooleanField(required=False, label="Overdue only")
    mine = forms.BooleanField(required=False, label="Assigned to me")

    def __init__(self, *args, user, workspace: Workspace | None = None, **kwargs) -> None:
        """``workspace`` scopes the form to one workspace's queue: no workspace picker, and only that
        workspace's campaigns and formats to choose from."""
        super().__init__(*args, **kwargs)
        if workspace is not None:
            workspaces = [workspace]
            del self.fields["workspace"]
        else:
            workspaces = list(workspaces_for(user))
            self.fields["workspace"].choices = [("", "All workspaces")] + [(w.slug, w.name) for w in workspaces]
        campaigns = (
            Campaign.objects.filter(workspace__in=workspaces)
            .select_related("workspace")
            .order_by("workspace__name", "name")
        )
        several = len(workspaces) > 1
        self.fields["campaign"].choices = [("", "All campaigns")] + [
            (c.pk, f"{c.workspace.name} · {c.name}" if several else c.name) for c in campaigns
        ]
        formats = CampaignFormat.objects.filter(campaign__workspace__in=workspaces).select_related("campaign")
        self.fields["format"].choices = [("", "All formats")] + [
            (fmt.pk, f"{fmt.campaign.name} · {fmt.name} ({fmt.size})")
            for fmt in formats.order_by("campaign__name", "name")
        ]

    def filters(self) -> dict:
        """The valid filters only: a bad value in one field does not throw the others away."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=DecisionOutcome.choices, widget=forms.RadioSelect, label="Decision")
    note = forms.CharField(
        required=False,
        max_length=4000,
        label="Note or reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required unless you simply approve: say what should change, or why.",
    )
    expected_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    comment_ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Attach comments", widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, comments: list[Comment] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        name_nul_refusals(self)
        self.fields["comment_ids"].choices = [(c.pk, c.text[:80]) for c in comments or [] if not c.resolved]

    def clean_expected_sha256(self) -> str:
        value = self.cleaned_data["expected_sha256"].strip().lower()
        if not SHA256_RE.match(value):
            raise ValidationError("The page is out of date; reload it and try again.")
        return value


class CommentForm(forms.Form):
    text = forms.CharField(max_length=4000, label="Comment", widget=forms.Textarea(attrs={"rows": 2}))
    x = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    y = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    w = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    h = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        name_nul_refusals(self)

    def clean(self) -> dict:
        data = super().clean()
        box = [data.get(k) for k in "xywh"]
        if any(v is not None for v in box) and not all(v is not None for v in box):
            raise ValidationError("The marked area is incomplete; draw it again on the image.")
        return data

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        box = [self.cleaned_data.get(k) for k in "xywh"]
        return tuple(box) if all(v is not None for v in box) else None  # type: ignore[return-value]


class OverrideForm(forms.Form):
    reason = forms.CharField(
        max_length=4000, label="Why should this image be allowed?", widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        name_nul_refusals(self)


class BulkApproveForm(forms.Form):
    """Selected queue rows as "<stage id>:<sha256>" so each approval is bound to the image the reviewer saw."""

    items = forms.MultipleChoiceField(required=True, error_messages={"required": "Select at least one image."})

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].valid_value = lambda value: True  # shape is checked in clean_items

    def clean_items(self) -> list[tuple[int, str]]:
        parsed = []
        for raw in self.cleaned_data["items"][:100]:
            stage, _, sha = str(raw).partition(":")
            stage_id = parse_id(stage)
            if stage_id is None or not SHA256_RE.match(sha):
                raise ValidationError("The selection is out of date; reload the queue and try again.")
            parsed.append((stage_id, sha))
        return parsed
