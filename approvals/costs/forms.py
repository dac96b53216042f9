"""The cost pages' forms: the date range (never reversed, never in the future) and the alert threshold."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from approvals.costs.selectors.scope import default_range

MAX_RANGE_DAYS = 3 * 366


class DateRangeForm(forms.Form):
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date", "class": "input"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date", "class": "input"})
    )

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        default_since, default_until = default_range(today)
        since, until = data.get("since") or default_since, data.get("until") or default_until
        if until > today:
            self.add_error("until", "The range cannot end in the future: choose today or an earlier day.")
        if since > today:
            self.add_error("since", "The range cannot start in the future.")
        if since > until:
            self.add_error("since", "The start is after the end: swap the two dates.")
        elif (until - since).days > MAX_RANGE_DAYS:
            self.add_error("since", "Choose a range of at most three years.")
        data["since"], data["until"] = since, until
        return data

    def range(self) -> tuple[dt.date, dt.date]:
        return self.cleaned_data["since"], self.cleaned_data["until"]


class AlertThresholdForm(forms.Form):
    percent = forms.IntegerField(
        label="Alert when spent + reserved reaches (% of budget)",
        min_value=1,
        max_value=100,
        widget=forms.NumberInput(attrs={"class": "input", "inputmode": "numeric"}),
    )
