"""Forms of the run review page: the grid's filters and the bulk decision. Shape only; the services decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from approvals.reviews.forms import SHA256_RE, FastSelect
from approvals.reviews.selectors_runs import NO_IMAGE, STATE_FILTERS, VERDICT_FILTERS
from approvals.reviews.services.bulk import BULK_OUTCOMES, MAX_BULK_ITEMS, BulkItem
from studio.lib.ids import parse_id


class RunReviewFilterForm(forms.Form):
    """GET filters; an invalid value is reported and ignored."""

    state = forms.ChoiceField(
        required=False,
        label="State",
        widget=FastSelect,
        choices=[("", "Any state")]
        + [(k, label) for k, (label, _q) in STATE_FILTERS.items()]
        + [(NO_IMAGE, "No image yet")],
    )
    verdict = forms.ChoiceField(
        required=False,
        label="Safety verdict",
        widget=FastSelect,
        choices=[("", "Any verdict")] + list(VERDICT_FILTERS.items()),
    )
    format = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Format", widget=FastSelect)
    locale = forms.ChoiceField(required=False, label="Locale", widget=FastSelect)

    def __init__(self, *args, formats, locales, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = [("", "All formats")] + [(f.pk, f"{f.name} ({f.size})") for f in formats]
        self.fields["locale"].choices = [("", "All locales")] + [(loc, loc) for loc in locales]

    def filters(self) -> dict:
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class RunBulkDecisionForm(forms.Form):
    """Selected images as "<variant id>:<sha256>", so each decision is bound to the content the
    reviewer saw; ``confirmed`` is set by the confirmation step (a dialog, or the server's own page)."""

    items = forms.MultipleChoiceField(required=True, error_messages={"required": "Select at least one image."})
    outcome = forms.ChoiceField(choices=[(o.value, o.label) for o in BULK_OUTCOMES])
    note = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].valid_value = lambda value: True  # shape is checked in clean_items

    def clean_items(self) -> list[BulkItem]:
        raw_items = self.cleaned_data["items"]
        if len(raw_items) > MAX_BULK_ITEMS:
            raise ValidationError(f"Select at most {MAX_BULK_ITEMS} images at a time.")
        parsed = []
        for raw in raw_items:
            pk, _, sha = str(raw).partition(":")
            variant_id = parse_id(pk)
            if variant_id is None or not SHA256_RE.match(sha):
                raise ValidationError("The selection is out of date; reload the page and try again.")
            parsed.append(BulkItem(variant_id=variant_id, sha256=sha))
        return parsed
