"""Forms check the shape of input only; the services decide what is allowed."""

from __future__ import annotations

from django import forms

from studio.generation.models import CampaignFormat


class PublishForm(forms.Form):
    target_format = forms.ModelChoiceField(queryset=CampaignFormat.objects.none(), label="Format", empty_label=None)

    def __init__(self, *args, formats, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_format"].queryset = formats
