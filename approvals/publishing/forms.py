"""Forms check the shape of input only; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from approvals.publishing.models import Destination
from approvals.publishing.retraction import MAX_REASON
from studio.generation.models import CampaignFormat


class PublishForm(forms.Form):
    target_format = forms.ModelChoiceField(queryset=CampaignFormat.objects.none(), label="Format", empty_label=None)
    destination = forms.ModelChoiceField(
        queryset=Destination.objects.none(), label="Destination", required=False, empty_label="Studio storage"
    )

    def __init__(self, *args, formats, destinations=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_format"].queryset = formats
        if destinations is None:
            destinations = Destination.objects.none()
        self.fields["destination"].queryset = destinations
        default = next((d for d in destinations if d.is_default), None)
        if default is not None and not self.is_bound:
            self.initial.setdefault("destination", default.pk)


class RetractForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the audit log and sent with the retraction webhook.",
    )
    withdraw_approval = forms.BooleanField(
        label="Also withdraw the approval (publishing this version again needs a new review decision)",
        required=False,
    )
