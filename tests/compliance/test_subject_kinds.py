"""Auditors read what an event is about in words, for every kind any app writes: each subject kind an
event type uses is named (and in the subject picker), each group of event types in the filter has a
title, and a production run's events read as "Production run #8 of “Spring launch” …", never by the
machine name of its kind."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.compliance.forms import event_type_choices
from approvals.costs import events as cost_events
from studio.core.audit import audit_append
from studio.core.events import registry
from studio.core.subjects import subjects
from studio.generation import events as studio_events
from studio.runs import events as run_events
from studio.runs.models import CellStatus, ProductionRun, RunCell, RunStatus
from tests import factories as f

LOG = reverse("compliance:log")


def test_every_subject_kind_an_event_type_uses_has_a_title_and_a_noun():
    used = {event_type.subject_kind for event_type in registry.all()}
    assert {kind for kind in used if kind not in subjects} == set()
    for kind in used:
        declared = subjects.get(kind)
        assert declared.title
        assert declared.noun
        assert "." not in declared.title
        assert "." not in declared.gone("8")


def test_every_event_group_has_a_title_and_the_filter_shows_no_machine_name():
    untitled = {t.namespace for t in registry.all() if not registry.has_group_title(t.namespace)}
    assert untitled == set()
    for group, options in event_type_choices()[1:]:
        assert "." not in group
        assert "." not in options[0][1]  # "Any: production runs"


@pytest.fixture
def run(workspace, campaign, ad_format, marketer):
    draft = f.PromptDraftFactory(campaign=campaign, workspace=workspace, created_by=marketer)
    return ProductionRun.objects.create(
        workspace=workspace,
        campaign=campaign,
        source_version=f.DraftVersionFactory(draft=draft, created_by=marketer),
        deployment=f.DeploymentFactory(workspace=workspace),
        variants_per_cell=1,
        created_by=marketer,
        status=RunStatus.FINISHED,
    )


@pytest.mark.django_db
def test_a_production_run_reads_in_words_with_a_link_to_its_page(client, compliance, run, ad_format):
    cell = RunCell.objects.create(run=run, target_format=ad_format, locale="ja", status=CellStatus.SUCCEEDED)
    run_events.cell_finished(cell=cell, run=run)
    run_events.run_finished(run=run, counts={"succeeded": 1}, actual=Decimal("0.04"))
    client.force_login(compliance)

    response = client.get(LOG)

    entries = {e.event.action: e for e in response.context["entries"]}
    finished = entries["runs.run.finished"]
    assert finished.sentence.startswith(f"Production run #{run.pk} of “Spring launch” ended finished: 1 done")
    assert finished.subject.url == reverse("runs:run", args=["acme", run.pk])
    assert finished.subject.title == "Production run"
    cell_entry = entries["runs.cell.finished"]
    assert cell_entry.sentence.startswith(f"Cell #{cell.pk} (LinkedIn ad, ja) of run {run.pk} ended succeeded")
    assert cell_entry.subject.url == reverse("runs:run", args=["acme", run.pk])
    body = response.content.decode()
    shown = re.sub(r'value="[^"]*"', "", body)  # what a person reads (the picker's values are machine names)
    assert "runs.productionrun" not in shown
    assert "runs.runcell" not in shown
    assert '<option value="runs.productionrun">Production run</option>' in body  # in the subject picker
    assert '<option value="runs.run.">Any: production runs</option>' in body


@pytest.mark.django_db
def test_a_gone_run_is_still_named_in_words(client, compliance, workspace):
    audit_append(
        workspace=workspace, actor=None, action="runs.run.stopped", subject_type="runs.productionrun", subject_id=99
    )
    client.force_login(compliance)
    (entry,) = client.get(LOG).context["entries"]
    assert entry.sentence.startswith("Production run #99 stopped")


@pytest.mark.django_db
def test_campaign_and_membership_events_name_their_subjects(client, compliance, campaign, ws_admin, marketer):
    cost_events.budget_alert_sent(campaign=campaign, used=Decimal("80"), percent=80, recipients=[ws_admin.pk])
    studio_events.campaign_changed(campaign=campaign, actor=ws_admin, action="changed", changes={}, via="admin")
    membership = marketer.memberships.get()
    studio_events.membership_changed(membership=membership, actor=ws_admin, action="changed", changes={}, via="admin")
    client.force_login(compliance)
    entries = {e.event.action: e for e in client.get(LOG).context["entries"]}
    assert entries["costs.budget.alert_sent"].sentence == (
        "The campaign “Spring launch” reached 80% of its budget: 1 people were told"
    )
    assert entries["studio.campaign.changed"].sentence == "ada changed the campaign “Spring launch”"
    assert entries["studio.campaign.changed"].subject.url == reverse("studio:campaign", args=["acme", "spring"])
    assert entries["studio.membership.changed"].subject.label == "mia as marketer"


@pytest.mark.django_db
def test_the_log_costs_the_same_queries_with_the_newer_kinds(client, compliance, workspace, run, campaign):
    client.force_login(compliance)
    run_events.run_stopped(run=run, reason="Deployment removed")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LOG).status_code == 200
        return len(ctx.captured_queries)

    one_kind = queries()
    cost_events.budget_alert_sent(campaign=campaign, used=Decimal("80"), percent=80, recipients=[])
    for _ in range(5):
        run_events.run_stopped(run=run, reason="again")
    assert queries() == one_kind
