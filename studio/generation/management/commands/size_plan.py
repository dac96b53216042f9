"""`manage.py size_plan --model gpt-image-2 --size 1200x628 [--json]`: show the generation-size plan.

Works on a fresh database: a profile missing from the database comes from the built-in catalog. Requests
no plan can serve exit with status 2 and one line on stderr, so scripts can rely on it.
"""

from __future__ import annotations

import json as _json
import re

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from studio.generation.catalog import PROFILES, builtin_profile
from studio.generation.models import CapabilityProfile
from studio.lib.sizing import SizeError, plan_size

SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
SANE_BOUND = 100_000


def parse_target(text: str) -> tuple[int, int]:
    match = SIZE.match(text or "")
    if not match:
        raise CommandError(f"{text!r} is not a size: give width x height in whole pixels, like 1200x628.", returncode=2)
    width, height = int(match.group(1)), int(match.group(2))
    if width > SANE_BOUND or height > SANE_BOUND:
        raise CommandError(f"{width}x{height} is far too large (over {SANE_BOUND:,} pixels on a side).", returncode=2)
    return width, height


def _stored_profile(name: str) -> CapabilityProfile | None:
    """The admin's profile if the database has one (and has tables at all: this works before migrate)."""
    try:
        return CapabilityProfile.objects.filter(name=name).first()
    except DatabaseError:
        return None


class Command(BaseCommand):
    help = "Show how a target size would be generated for a model (generation size, crop, scale, notes)."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="Capability profile name, e.g. gpt-image-2")
        parser.add_argument("--size", required=True, help="Target size WxH, e.g. 1200x628")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args, model: str, size: str, json: bool = False, **options):
        width, height = parse_target(size)
        profile = _stored_profile(model) or builtin_profile(model)
        if profile is None:
            known = ", ".join(sorted(PROFILES))
            raise CommandError(f"Unknown model {model!r}; built-in models are {known}.", returncode=2)
        try:
            plan = plan_size(target_width=width, target_height=height, profile=profile)
        except SizeError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if json:
            self.stdout.write(_json.dumps(plan.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(f"Target      {plan.target}")
        self.stdout.write(f"Generate at {plan.size} ({plan.pixels:,} pixels) on {profile.name}")
        self.stdout.write(f"Scale       {plan.scale:.2f}x" + (f", cropped to {plan.crop_aspect}" if plan.crop else ""))
        for note in plan.notes:
            self.stdout.write(f"Note        {note}")
