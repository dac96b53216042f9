"""Setting the focal point in real Chromium: the arrow keys move the marker and fill the form; a click
on the image puts it there; saving records it (no worker needed)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from studio.core.models import AuditEvent
from tests import factories as f
from tests.approvals.factories_reviews import member, variant_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_arrow_keys_and_a_click_set_the_focal_point(live_server, page, login):
    workspace = f.WorkspaceFactory(slug="acme", name="Acme")
    marketer = member(workspace, "mia")
    campaign = f.CampaignFactory(workspace=workspace, slug="spring", name="Spring launch")
    variant = variant_for(workspace, creator=marketer, campaign=campaign, width=200, height=100)
    login(page, marketer.username, "pw-correct-horse")
    page.goto(live_server.url + reverse("studio:variant", args=[workspace.slug, variant.pk]))
    picker = page.locator("[data-focal-image]")
    picker.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowUp")
    expect(page.locator("[data-focal-x]")).to_have_value("53")
    expect(page.locator("[data-focal-y]")).to_have_value("40")
    expect(page.locator("[data-focal-position]")).to_contain_text("53% across, 40% down")
    assert page.locator("[data-focal-dot]").get_attribute("cx") == "106.0"  # 53% of 200 px
    page.get_by_role("button", name="Save focal point").click()
    expect(page.locator("#focal-point [role=status]")).to_have_text("Focal point saved.")
    variant.refresh_from_db()
    assert (variant.focal_x, variant.focal_y) == (0.53, 0.4)
    # A click near the left edge, half-way down.
    box = page.locator("[data-focal-image]").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.5)
    expect(page.locator("[data-focal-position]")).to_contain_text("(not saved yet)")
    expect(page.locator("[data-focal-x]")).to_have_value(re.compile(r"^(9|10|11)(\.\d)?$"))
    page.get_by_role("button", name="Save focal point").click()
    expect(page.locator("[data-focal-position]")).not_to_contain_text("not saved")
    variant.refresh_from_db()
    assert variant.focal_x == pytest.approx(0.1, abs=0.02)
    assert variant.focal_y == pytest.approx(0.5, abs=0.02)
    assert AuditEvent.objects.filter(action="studio.variant.focal_point_set").count() == 2
    assert page.js_errors == []
