"""Two production runs launched at once against one budget on real PostgreSQL never overspend: the whole
run's plan and reservation happen under the campaign's row lock, so exactly one fits and the other is
refused whole, with nothing reserved for it."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from studio.generation.errors import BudgetExceeded
from studio.generation.models import Campaign, GenerationJob
from studio.runs import services
from studio.runs.models import ProductionRun
from studio.runs.planning import run_plan

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_two_runs_launched_at_once_never_overspend(spec, marketer, campaign):
    assert connection.vendor == "postgresql", "this test needs real row locks (run it against PostgreSQL)"
    total = run_plan(spec()).total
    # Room for one whole run and a half: the second can never fit whole.
    Campaign.objects.filter(pk=campaign.pk).update(budget=total * Decimal("1.5"))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def launch() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.run_launch(actor=marketer, spec=spec(), enqueue=False))
        except BudgetExceeded as exc:
            outcomes.append(exc)
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=launch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    runs = [o for o in outcomes if isinstance(o, ProductionRun)]
    refusals = [o for o in outcomes if isinstance(o, BudgetExceeded)]
    assert len(runs) == 1, outcomes
    assert len(refusals) == 1, outcomes
    assert "left of its" in refusals[0].message
    campaign.refresh_from_db()
    assert campaign.reserved_cost == runs[0].estimated_cost == total
    assert campaign.reserved_cost + campaign.spent_cost <= campaign.budget
    assert GenerationJob.objects.count() == runs[0].cells.count() == 4
