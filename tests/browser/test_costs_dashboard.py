"""The cost dashboard in real Chromium at 1280 px and 390 px: renders under the strict CSP (no console
errors), no serious axe-core violations, nothing wider than a phone, the chart data behind <details>,
and screenshots for people to look at."""

from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import pytest
from django.urls import reverse

from studio.generation.models import Operation, VariantStatus
from tests.browser.test_ux_roles import _axe_serious
from tests.costs.conftest import Ledger

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# The elements that stick out past the viewport (leaves first), to say what overflows.
WIDEST_ELEMENTS = """(width) => {
  const leaf = [...document.querySelectorAll('body *')]
    .find(el => el.getBoundingClientRect().right > width + 1 && el.children.length === 0);
  const chain = [];
  for (let el = leaf; el && el !== document.body; el = el.parentElement) {
    chain.push(el.tagName.toLowerCase() + '.' + [...el.classList].join('.') + ' ' +
      Math.round(el.getBoundingClientRect().width));
  }
  return chain.join(' < ');
}"""


def test_cost_dashboard_reads_well_on_desktop_and_phone(
    page, live_server, login, workspace, campaign, offline_deployment, marketer, tmp_path_factory
):
    ledger = Ledger(
        workspace=workspace,
        campaign=campaign,
        deployment=offline_deployment,
        user=marketer,
        hooks=lambda execute=True: nullcontext(),
    )
    for i in range(3):
        version = ledger.version()
        master = ledger.job(version, "0.40", n=2, quality=["low", "medium", "high"][i])
        edit = ledger.job(version, "0.10", operation=Operation.EDIT, base=master.made[0])
        ledger.decide(edit.made[0])
        ledger.decide(master.made[1], VariantStatus.REJECTED)
    base = os.environ.get("IMPRIMATUR_VAR_DIR")
    shots = Path(base) / "screenshots" if base else tmp_path_factory.mktemp("screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    login(page, "mia", "pw-correct-horse")
    problems = []
    for name, url in {
        "costs-workspace": reverse("costs:dashboard", args=[workspace.slug]),
        "costs-campaign": reverse("costs:campaign", args=[workspace.slug, campaign.slug]),
    }.items():
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(live_server.url + url)
            page.wait_for_load_state("networkidle")
            assert page.locator("svg.chart").count() >= 2
            page.locator("details.cost-chart-data summary").first.click()
            page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
            if label == "phone":
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    wide = page.evaluate(WIDEST_ELEMENTS, width)
                    problems.append(f"{name} scrolls sideways at {width}px ({scroll}px): {wide}")
            problems += [f"{name} {label}: {v}" for v in _axe_serious(page)]
    assert page.get_by_text("$1.50").first.is_visible()  # the campaign's spend: 3 x (0.40 + 0.10)
    assert not page.js_errors, page.js_errors
    assert not problems, problems
