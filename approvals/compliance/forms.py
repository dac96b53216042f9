"""The audit log's filters: what happened (an event type from the registry), who did it (a person
picker), what it was about (a subject kind and number), where and when.

Forms check the shape of input only; which workspaces a person may see is decided by the selectors.
Every choice list is built without a query except the people, which is one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django import forms

from approvals.compliance.exports import AuditFilter
from approvals.compliance.subjects import subject_kind_choices
from studio.core.events import registry
from studio.core.models import Workspace

SYSTEM = "system"


def _in_sentence(title: str) -> str:
    """A group title after "Any:": "Reviews" -> "reviews", but "API keys" stays."""
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


def event_type_choices() -> list[tuple[str, object]]:
    """Every registered event type by its label, grouped by area (titled by the app that declares it,
    ``studio.core.events.event_group``); each group starts with "any event of this area" (a prefix, as
    the export command's ``--action`` takes it)."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event_type in registry.all():
        groups[event_type.namespace].append((event_type.action, event_type.label))
    choices: list[tuple[str, object]] = [("", "Any event")]
    for namespace in sorted(groups, key=lambda ns: registry.group_title(ns).lower()):
        title = registry.group_title(namespace)
        choices.append((title, [(f"{namespace}.", f"Any: {_in_sentence(title)}"), *groups[namespace]]))
    return choices


def person_choices(people: Sequence) -> list[tuple[str, str]]:
    def name(user) -> str:
        full = user.get_full_name()
        return f"{full} ({user.get_username()})" if full else user.get_username()

    return [("", "Anyone"), (SYSTEM, "The system (automatic steps)")] + [(u.get_username(), name(u)) for u in people]


class EventTypeField(forms.ChoiceField):
    """A select of the registry's event types that also takes any area prefix ending in a dot
    ("approvals."), as links and the export command write them."""

    def valid_value(self, value: str) -> bool:
        if super().valid_value(value):
            return True
        return value.endswith(".") and any(t.action.startswith(value) for t in registry.all())


class AuditFilterForm(forms.Form):
    workspace = forms.ChoiceField(required=False, label="Workspace")
    action = EventTypeField(required=False, label="What happened")
    actor = forms.ChoiceField(required=False, label="Person")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    subject_type = forms.ChoiceField(required=False, label="About")
    subject_id = forms.CharField(
        required=False,
        max_length=64,
        label="Number",
        help_text="The number of the image, review, draft… (as in “variant #42”).",
    )

    def __init__(self, *args, workspaces: Sequence[Workspace], people: Sequence, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workspaces = {ws.slug: ws for ws in workspaces}
        self.fields["workspace"].choices = [("", "All my workspaces")] + [(ws.slug, ws.name) for ws in workspaces]
        self.fields["action"].choices = event_type_choices()
        self.fields["actor"].choices = person_choices(people)
        self.fields["subject_type"].choices = [("", "Anything"), *subject_kind_choices()]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def to_filter(self) -> AuditFilter:
        data: dict = {}
        if self.is_bound:
            self.is_valid()  # valid fields still filter when another is wrong (that one shows its error)
            data = self.cleaned_data
        workspace = self.workspaces.get(data.get("workspace") or "")
        actor = data.get("actor", "")
        return AuditFilter(
            workspace_ids=(workspace.pk,) if workspace else tuple(ws.pk for ws in self.workspaces.values()),
            since=data.get("since"),
            until=data.get("until"),
            action=data.get("action", ""),
            actor=SYSTEM if actor == SYSTEM else "",
            actor_username="" if actor == SYSTEM else actor,
            subject_type=data.get("subject_type", ""),
            subject_id=data.get("subject_id", ""),
        )
