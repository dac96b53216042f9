"""Idempotent demo data for `make run`: workspace `demo`, a campaign with formats, an offline
deployment and one user per role. Prints the URL and one login per role.

With ``--signing-key-file PATH`` (as `make run` calls it) the workspace also gets a throwaway Content
Credentials certificate, so published renditions carry a signed C2PA manifest; its private key is
written to PATH and must reach the server and the worker in ``IMPRIMATUR_KEY_DEMO_C2PA``, as an admin's
key would (`make run` sets it from the file). Without the option nothing is signed, as in a new
workspace."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from studio.core.models import Membership, Role, Workspace
from studio.generation.catalog import catalog_sync
from studio.generation.models import Campaign, CampaignFormat, CapabilityProfile, Deployment, PromptTemplate
from studio.provenance.demo import DEMO_KEY_ENV, demo_credential_ensure
from studio.safety.rulepacks import rules_sync

DEMO_USERS = [
    ("marketer", "Mia Marketer", Role.MARKETER, False),
    ("reviewer", "Rob Reviewer", Role.BRAND_REVIEWER, False),
    ("compliance", "Cora Compliance", Role.COMPLIANCE, False),
    ("admin", "Ada Admin", Role.ADMIN, True),
]
DEMO_FORMATS = [
    ("LinkedIn ad", "LinkedIn", 1200, 628),
    ("Story", "Instagram", 1080, 1920),
    ("Medium rectangle", "Display", 300, 250),
]

DEMO_TEMPLATES = [
    (
        "Product hero",
        "A {product} on a {surface}, centred, with room above it for a headline.",
        "Photographic, soft morning light, shallow depth of field.",
    ),
    (
        "Seasonal banner",
        "A {season} scene around a {product}, with empty space on the left for copy.",
        "Flat illustration, bold shapes, generous negative space.",
    ),
]


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


def demo_logins() -> list[dict[str, str]]:
    """Demo logins that exist in this database (empty unless seed_demo ran)."""
    existing = set(
        get_user_model()
        .objects.filter(username__in=[u for u, *_ in DEMO_USERS], memberships__workspace__slug="demo")
        .values_list("username", flat=True)
    )
    return [
        {"username": u, "password": demo_password(u), "role": Role(r).label}
        for u, _name, r, _staff in DEMO_USERS
        if u in existing
    ]


class Command(BaseCommand):
    help = "Create (or refresh) the demo workspace, campaign, deployment and one user per role."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")
        parser.add_argument("--quiet", action="store_true")
        parser.add_argument(
            "--signing-key-file",
            type=Path,
            help=f"Sign the demo's publications with a throwaway certificate whose key is kept in this file "
            f"(to be passed to the server and worker in {DEMO_KEY_ENV})",
        )

    @transaction.atomic
    def handle(self, *args, url: str, quiet: bool, signing_key_file: Path | None = None, **options):
        catalog_sync()
        rules_sync()
        workspace, _ = Workspace.objects.get_or_create(
            slug="demo",
            defaults={
                "name": "Demo Brand",
                "style_guide": "Warm natural light, clean composition, brand colours coral and deep teal.",
                "default_locales": ["en", "de", "ja"],
                "blocklist_terms": ["competitorco"],
            },
        )
        campaign, _ = Campaign.objects.get_or_create(
            workspace=workspace,
            slug="spring-launch",
            defaults={"name": "Spring launch", "locales": ["en", "de", "ja", "hi"], "budget": Decimal("50")},
        )
        for name, channel, width, height in DEMO_FORMATS:
            CampaignFormat.objects.get_or_create(
                campaign=campaign, name=name, defaults={"channel": channel, "width": width, "height": height}
            )
        for name, text, style_preset in DEMO_TEMPLATES:
            PromptTemplate.objects.get_or_create(
                workspace=workspace, name=name, defaults={"text": text, "style_preset": style_preset}
            )
        profile = CapabilityProfile.objects.get(name="gpt-image-2")
        Deployment.objects.get_or_create(
            workspace=workspace,
            name="offline",
            defaults={"provider": "offline", "model": "gpt-image-2", "profile": profile, "is_default": True},
        )
        User = get_user_model()
        for username, full_name, role, staff in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.local"})
            first, last = full_name.split(" ", 1)
            user.first_name, user.last_name = first, last
            # The workspace admin is staff (the admin, scoped to their workspaces), never a superuser:
            # superusers are operators, made with `createsuperuser`.
            user.is_staff = staff
            user.is_superuser = False
            if created or not user.check_password(demo_password(username)):
                user.set_password(demo_password(username))
            user.save()
            Membership.objects.get_or_create(user=user, workspace=workspace, role=role)
        signing = None
        if signing_key_file is not None:
            admin = User.objects.get(username="admin")
            _credential, signing = demo_credential_ensure(actor=admin, workspace=workspace, key_file=signing_key_file)
        if not quiet:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"Imprimatur is ready at {url}"))
            self.stdout.write("Demo logins (workspace 'demo'):")
            for username, _full, role, _staff in DEMO_USERS:
                self.stdout.write(f"  {Role(role).label:<20} {username:<11} / {demo_password(username)}")
            self.stdout.write("Images come from the offline renderer until you add a hosted deployment (README).")
            if signing == "admin's":
                self.stdout.write("Content Credentials: signed with the certificate an admin configured.")
            elif signing is not None:
                self.stdout.write(
                    "Content Credentials: published images are signed with a throwaway demo certificate "
                    f"(trusted by nobody); its key is in {signing_key_file}, which `make run` passes in "
                    f"{DEMO_KEY_ENV}."
                )
            self.stdout.write("")
