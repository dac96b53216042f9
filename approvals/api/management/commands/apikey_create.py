"""``manage.py apikey_create --workspace SLUG --user USERNAME --scopes read,generate [--name N] [--json]``.

Prints the key once (it is stored hashed and cannot be shown again); ``--json`` prints
``{"key": ..., "prefix": ...}`` for scripts. Recorded in the workspace's audit log as made by the system
(the operator at the command line)."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from approvals.api.keys import apikey_create, user_for_key_command
from studio.core.errors import Refusal
from studio.core.models import Workspace


class Command(BaseCommand):
    help = "Create an API key for a member of a workspace and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="The workspace's slug")
        parser.add_argument("--user", required=True, help="The username the key acts as")
        parser.add_argument("--scopes", required=True, help="Comma-separated: read,generate,review,publish")
        parser.add_argument("--name", default="", help="What the key is for (shown on the API keys page)")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Expire the key after N days")
        parser.add_argument("--json", action="store_true", help='Print {"key": ..., "prefix": ...}')

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace has the slug {options['workspace']!r}.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        try:
            user = user_for_key_command(workspace=workspace, username=options["user"])
            issued = apikey_create(
                actor=None,
                workspace=workspace,
                user=user,
                name=options["name"] or f"Key for {user.get_username()} (command line)",
                scopes=options["scopes"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except Refusal as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"key": issued.key, "prefix": issued.prefix}))
            return
        self.stdout.write(
            f"API key for {user.get_username()} in {workspace.name} ({', '.join(issued.api_key.scopes)}):"
        )
        self.stdout.write(issued.key)
        self.stdout.write("Store it now: it is shown only once.")
