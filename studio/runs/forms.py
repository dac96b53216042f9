"""The production run form: shape of input only; the grid's rules (sizes, copy, budget) are the planner's."""

from __future__ import annotations

from django import forms

from studio.generation.models import Campaign, Deployment, PromptDraft, Variant, VariantStatus
from studio.lib.ids import IdModelMultipleChoiceField
from studio.runs.planning import RunSpec

QUALITIES = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("auto", "Auto")]


class RunForm(forms.Form):
    draft = forms.ModelChoiceField(
        queryset=PromptDraft.objects.none(),
        required=False,
        label="Generate from a draft",
        help_text="Its newest version; each cell is generated at its own format's size.",
    )
    master = forms.ModelChoiceField(
        queryset=Variant.objects.none(),
        required=False,
        label="Or derive from an approved master",
        help_text="Each cell is an edit of the master, recomposed for its format with the locale's copy.",
    )
    formats = IdModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple, required=False)
    locales = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple, required=False)
    n = forms.IntegerField(min_value=1, max_value=10, initial=1, label="Variants per cell")
    deployment = forms.ModelChoiceField(queryset=Deployment.objects.none(), empty_label=None)
    quality = forms.ChoiceField(choices=QUALITIES, initial="low")
    only_what_fits = forms.BooleanField(
        required=False,
        label="Launch only what fits",
        help_text="If the run is over budget, launch the first cells that fit.",
    )

    def __init__(self, *args, campaign: Campaign, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["draft"].queryset = campaign.drafts.order_by("-updated_at")
        self.fields["master"].queryset = (
            Variant.objects.filter(
                draft__campaign=campaign, status__in=(VariantStatus.APPROVED, VariantStatus.PUBLISHED)
            )
            .select_related("draft")
            .order_by("-created_at")
        )
        self.fields["master"].label_from_instance = lambda v: f"#{v.pk} · {v.draft.title} · {v.size}"
        self.fields["formats"].queryset = campaign.formats.order_by("name")
        self.fields["formats"].label_from_instance = lambda fmt: f"{fmt.name} ({fmt.size})"
        self.fields["locales"].choices = [(loc, loc) for loc in campaign.locales or []]
        deployments = Deployment.objects.filter(workspace=campaign.workspace, active=True).select_related("profile")
        self.fields["deployment"].queryset = deployments.order_by("-is_default", "name")
        if not self.is_bound:
            self.initial.setdefault("formats", list(campaign.formats.values_list("pk", flat=True)))
            self.initial.setdefault("locales", list(campaign.locales or []))

    def clean(self):
        data = super().clean()
        if bool(data.get("draft")) == bool(data.get("master")):
            raise forms.ValidationError("Choose one source: a draft, or an approved master image.")
        return data

    def spec(self) -> RunSpec:
        data = self.cleaned_data
        version = data["draft"].versions.order_by("-number").first() if data.get("draft") else None
        master = data.get("master")
        if master is not None:
            master = Variant.objects.select_related("job__draft_version__draft__workspace", "draft").get(pk=master.pk)
        return RunSpec(
            campaign=self.campaign,
            deployment=data["deployment"],
            formats=list(data.get("formats") or []),
            locales=list(data.get("locales") or []),
            n=data["n"],
            quality=data["quality"],
            version=version,
            master=master,
        )
