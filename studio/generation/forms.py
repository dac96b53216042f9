"""Forms check the shape of input only; capability and budget rules live in the services."""

from __future__ import annotations

import json
import re

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from studio.generation.models import MAX_EDGE_PX, CampaignFormat, Deployment, PromptTemplate, Variant, VariantStatus
from studio.lib.ids import IdModelMultipleChoiceField, parse_id
from studio.lib.imaging.errors import MSG_EMPTY
from studio.lib.providers.routing import available_routes

SIZE_PATTERN = re.compile(r"^\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*$")


def parse_size(value: str) -> tuple[int, int]:
    match = SIZE_PATTERN.match(value or "")
    if not match:
        raise forms.ValidationError("Write the size as width x height in pixels, for example 1200x628.")
    width, height = int(match.group(1)), int(match.group(2))
    if width < 16 or height < 16:
        raise forms.ValidationError("That size is too small: both sides must be at least 16 pixels.")
    if width > MAX_EDGE_PX or height > MAX_EDGE_PX:
        raise forms.ValidationError(f"That size is too large: no side may exceed {MAX_EDGE_PX:,} pixels.")
    return width, height


def refuse_nul(value: str, label: str) -> str:
    """NUL characters cannot be stored (PostgreSQL refuses them in text and JSON: a 500) and mean nothing in
    a prompt. Django's CharField refuses them in its own value, but not in what a field parses out of it
    (a JSON ``"\\u0000"``, a dict of phrases): those fields call this with their label."""
    if "\x00" in value:
        raise forms.ValidationError(f"{label} cannot contain NUL (\\0) characters; remove them and try again.")
    return value


def name_nul_refusals(form: forms.BaseForm) -> None:
    """Django's CharField refuses NUL with "Null characters are not allowed."; say which field instead,
    in the same words as :func:`refuse_nul` (the page's summary alert lists messages without labels)."""
    for name, field in form.fields.items():
        label = field.label or name.replace("_", " ").capitalize()
        field.validators = [
            ProhibitNullCharactersValidator(
                message=f"{label} cannot contain NUL (\\0) characters; remove them and try again."
            )
            if isinstance(v, ProhibitNullCharactersValidator)
            else v
            for v in field.validators
        ]


class LocaleCopyField(forms.CharField):
    """One line per locale: ``ja: 春のセール``."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value):
        text = refuse_nul(super().to_python(value) or "", "In-image copy")
        copy: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if ":" not in line:
                raise forms.ValidationError(f'Line {number}: write it as "locale: text", for example "ja: 春のセール".')
            locale, phrase = line.split(":", 1)
            locale = locale.strip()
            if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", locale):
                raise forms.ValidationError(f'Line {number}: "{locale}" is not a locale code like en, ja or zh-Hans.')
            copy[locale] = phrase.strip()
        return copy

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{k}: {v}" for k, v in value.items())
        return value


class TemplateValuesField(forms.CharField):
    """The template's ``{"name": "value"}`` JSON; the form's ``clean_variables`` parses it."""

    def to_python(self, value):
        return refuse_nul(super().to_python(value), "Template values")


# A ``{name}`` in a prompt (the same rule as ``services.drafts.TEMPLATE_VARIABLE``, which fills them in).
PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
VALUE_PREFIX = "value__"  # one field per placeholder: value__product, value__surface
MAX_VALUE_CHARS = 2000


def placeholders(text: str) -> list[str]:
    """The ``{names}`` in ``text``, in order, once each."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def value_label(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


def template_start_text(template: PromptTemplate) -> str:
    """A template as the starting prompt: its text, then its style preset."""
    return "\n\n".join(part for part in (template.text.strip(), template.style_preset.strip()) if part)


class TemplateSelect(forms.Select):
    """Each template's text on its option, so the page shows it (and its placeholders) when picked."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        template = getattr(value, "instance", None)
        if template is not None:
            option["attrs"]["data-text"] = template_start_text(template)
        return option


class DraftForm(forms.Form):
    title = forms.CharField(max_length=200)
    template = forms.ModelChoiceField(
        queryset=PromptTemplate.objects.none(),
        required=False,
        label="Start from template",
        empty_label="No template",
        widget=TemplateSelect,
        help_text="Leave the prompt empty to start from the template's text and style; fill in its values below.",
    )
    text = forms.CharField(
        label="Prompt",
        max_length=30000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    locale_copy = LocaleCopyField(
        label="In-image copy per locale",
        required=False,
        help_text='One line per locale, e.g. "en: Spring sale" and "ja: 春のセール".',
    )
    variables = TemplateValuesField(
        label="All values as JSON",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "data-values-json": ""}),
        help_text='For many values at once, e.g. {"product": "lemon soda"}. Kept in step with the fields above.',
    )
    # The values as the page showed them, so a save without script knows which of field and JSON changed.
    values_base = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "template" in self.fields:
            templates = workspace.prompt_templates.order_by("name") if workspace is not None else None
            if templates is not None and templates.exists():
                self.fields["template"].queryset = templates
            else:
                del self.fields["template"]  # nothing to choose from: no empty select on the page
        self.value_names = placeholders(self._source_text())
        saved = self._saved_values()
        self.fields["values_base"].initial = self.initial.get("variables") or ""
        for name in self.value_names:
            self.fields[VALUE_PREFIX + name] = forms.CharField(
                label=value_label(name),
                required=False,
                max_length=MAX_VALUE_CHARS,
                initial=saved.get(name, ""),
                # Its error is drawn under it (templates/studio/partials/template_values.html).
                widget=forms.TextInput(
                    attrs={
                        "data-template-value": name,
                        "autocomplete": "off",
                        "aria-describedby": f"id_{VALUE_PREFIX}{name}_error",
                    }
                ),
            )
        name_nul_refusals(self)

    @property
    def value_field_names(self) -> list[str]:
        return [VALUE_PREFIX + name for name in self.value_names]

    def value_fields(self):
        return [self[name] for name in self.value_field_names]

    def _source_text(self) -> str:
        """The text whose placeholders get a field: the prompt as typed, else the picked template's (what
        ``clean`` starts the draft from); unbound, the prompt the form starts with."""
        if not self.is_bound:
            return str(self.initial.get("text") or "")
        text = str(self.data.get(self.add_prefix("text")) or "")
        if text.strip() or "template" not in self.fields:
            return text
        key = parse_id(self.data.get(self.add_prefix("template")))
        if key is not None:
            template = self.fields["template"].queryset.filter(pk=key).first()
            if template is not None:
                return template_start_text(template)
        return text

    def _saved_values(self) -> dict:
        raw = self.initial.get("variables")
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in raw.items()}
        return _parse_values(raw or "")

    def clean_variables(self):
        raw = (self.cleaned_data.get("variables") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError('Template values must look like {"name": "value"}.') from exc
        if not isinstance(value, dict) or not all(isinstance(v, str | int | float) for v in value.values()):
            raise forms.ValidationError('Template values must look like {"name": "value"}.')
        values = {str(k): str(v) for k, v in value.items()}
        for key, text in values.items():  # JSON decodes "\u0000" to a NUL the raw text did not show
            refuse_nul(key + text, "Template values")
        return values

    def clean(self):
        data = super().clean()
        text = (data.get("text") or "").strip()
        template = data.get("template")
        if not text and template is not None:
            # The template's text, then its style preset, as the starting prompt; the marketer edits from there.
            text = template_start_text(template)
        if not text and "text" not in self.errors:
            self.add_error("text", "Write a prompt: describe the image you need.")
        data["text"] = text
        if "variables" not in self.errors:
            data["variables"] = self._merge_values(data, text)
        return data

    def _merge_values(self, data: dict, text: str) -> dict:
        """The values to save: the JSON (names the prompt may not use yet included), with each placeholder's
        own field. The page's script keeps both in step; without it, whichever of the two the person
        changed from the values the page showed (``values_base``) wins, and when both changed differently
        they are asked which to keep rather than one silently winning. A placeholder left without a value
        is an error by its field: Generate would refuse the draft anyway, later and further from the cause."""
        values = dict(data.get("variables") or {})
        base = _parse_values(data.get("values_base") or "")
        for name in self.value_names:
            field = VALUE_PREFIX + name
            typed = (data.get(field) or "").strip()
            in_json = str(values.get(name, "")).strip()
            shown = base.get(name, "").strip()
            if typed in (in_json, shown):
                continue  # the same, or only the JSON was changed: the JSON stands
            if in_json == shown or not in_json:
                if typed:
                    values[name] = typed
                else:
                    values.pop(name, None)  # the field was emptied: the value is gone
            else:
                self.add_error(field, f"The JSON below says “{in_json}” for {{{name}}}: change one so they agree.")
        for name in placeholders(text):
            if not str(values.get(name, "")).strip() and VALUE_PREFIX + name not in self.errors:
                message = f"Fill in a value for {{{name}}}, or take {{{name}}} out of the prompt."
                if name in self.value_names:
                    self.add_error(VALUE_PREFIX + name, message)
                else:  # a placeholder typed after the page was drawn, without script: no field for it yet
                    self.add_error("variables", message)
        return values


def _parse_values(raw: str) -> dict[str, str]:
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class DraftEditForm(DraftForm):
    title = None
    template = None


class GenerateForm(forms.Form):
    deployment = forms.ModelChoiceField(queryset=Deployment.objects.none(), empty_label=None)
    target_format = forms.ModelChoiceField(
        queryset=CampaignFormat.objects.none(), required=False, empty_label="Custom size…", label="Format"
    )
    custom_size = forms.CharField(
        required=False,
        label="Custom size (px)",
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "e.g. 1080x1920", "inputmode": "text"}),
    )
    n = forms.IntegerField(label="Variants", min_value=1, max_value=10, initial=4)
    quality = forms.ChoiceField(choices=[], initial="medium")
    output_format = forms.ChoiceField(choices=[], initial="png", label="File type")
    locale = forms.ChoiceField(choices=[], required=False)
    route = forms.ChoiceField(choices=[("explicit", "Explicit size")], initial="explicit", label="Routing")

    def __init__(self, *args, workspace, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deployment"].queryset = workspace.deployments.filter(active=True).select_related("profile")
        self.fields["target_format"].queryset = campaign.formats.all()
        deployment = self._chosen_deployment()
        profile = deployment.profile if deployment else None
        qualities = (profile.qualities if profile else None) or ["auto"]
        formats = (profile.output_formats if profile else None) or ["png"]
        self.fields["quality"].choices = [(q, q.capitalize()) for q in qualities]
        self.fields["output_format"].choices = [(f, f.upper()) for f in formats]
        if "medium" not in qualities:
            self.fields["quality"].initial = qualities[0]
        locales = campaign.locales or workspace.default_locales or []
        self.fields["locale"].choices = [("", "No in-image copy")] + [(loc, loc) for loc in locales]
        if deployment is not None:
            self.fields["route"].choices = available_routes(deployment, regulated=workspace.is_regulated)
        if profile is not None:
            self.fields["n"].max_value = profile.max_n
            self.fields["n"].widget.attrs["max"] = profile.max_n

    def _chosen_deployment(self):
        queryset = self.fields["deployment"].queryset
        key = self.data.get("deployment") if self.is_bound else None
        if key:
            return queryset.filter(pk=pk).first() if (pk := parse_id(key)) is not None else None
        return queryset.order_by("-is_default", "name").first()

    def clean(self):
        data = super().clean()
        fmt = data.get("target_format")
        custom = (data.get("custom_size") or "").strip()
        if fmt is None and not custom:
            self.add_error("custom_size", "Choose a format or type a size such as 1200x628.")
        elif fmt is None:
            try:
                data["width"], data["height"] = parse_size(custom)
            except forms.ValidationError as exc:
                self.add_error("custom_size", exc)
        else:
            data["width"], data["height"] = fmt.width, fmt.height
        return data


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class EditForm(forms.Form):
    """Shape of an edit; the mask and uploads are validated by content in the view (studio.uploads)."""

    instruction = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Describe the change you want."},
    )
    mask = forms.CharField(required=False, widget=forms.HiddenInput)
    reference_variants = IdModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Reference images from approved work",
        widget=forms.CheckboxSelectMultiple,
    )
    reference_files = MultipleFileField(
        required=False,
        # The image checks' own words (lib imaging) rather than Django's "The submitted file is empty."
        error_messages={"empty": MSG_EMPTY},
        label="Upload reference images",
        help_text="PNG, JPEG or WebP. Used as extra inputs, e.g. the product to place in the scene.",
    )

    def __init__(self, *args, workspace=None, exclude_variant=None, **kwargs):
        super().__init__(*args, **kwargs)
        name_nul_refusals(self)
        queryset = Variant.objects.none()
        if workspace is not None:
            queryset = (
                Variant.objects.filter(
                    workspace=workspace, status__in=[VariantStatus.APPROVED, VariantStatus.PUBLISHED]
                )
                .select_related("draft")
                .order_by("-created_at")
            )
            if exclude_variant is not None:
                queryset = queryset.exclude(pk=exclude_variant.pk)
            # The 48 newest approved images: enough to pick from, bounded however big the workspace grows.
            queryset = (
                Variant.objects.filter(pk__in=queryset.values("pk")[:48])
                .select_related("draft")
                .order_by("-created_at")
            )
        self.fields["reference_variants"].queryset = queryset
        self.fields["reference_variants"].label_from_instance = lambda v: f"#{v.pk} {v.draft.title} ({v.size})"

    def error_summary(self) -> str:
        """Each refused field's own message, named: the page's one alert must say what to fix even for
        fields shown without an inline error (a hidden mask, a file input)."""
        parts = [" ".join(str(m) for m in errors) for errors in [self.non_field_errors()] if errors]
        for name, errors in self.errors.items():
            if name == "__all__":
                continue
            label = "Mask" if name == "mask" else self.fields[name].label or name.replace("_", " ").capitalize()
            parts.append(f"{label}: {' '.join(str(m) for m in errors)}")
        return " ".join(parts) or "Please fix the highlighted fields."
