"""Forms check the shape of input only; ``services`` validates the URL (SSRF rules) and the events."""

from __future__ import annotations

from django import forms

from approvals.webhooks.models import WebhookEventType


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/imprimatur", "class": "input mono"}),
        help_text="Must be https:// and reachable on the public internet.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The endpoint receives only the events ticked here.",
    )
