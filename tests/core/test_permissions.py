"""One permissions module, one meaning of each role: the table in ``studio.core.permissions``."""

from __future__ import annotations

import pytest

from studio.core import permissions as p
from studio.core.errors import Forbidden
from studio.core.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db

ABILITIES = {
    "generate": lambda u, ws: p.can_generate(u, ws),
    "submit": lambda u, ws: p.can_submit(u, ws),
    "decide brand": lambda u, ws: p.can_decide_stage(u, ws, "brand"),
    "decide compliance": lambda u, ws: p.can_decide_stage(u, ws, "compliance"),
    "publish": lambda u, ws: p.can_publish(u, ws),
    "read audit": lambda u, ws: p.can_read_audit(u, ws),
    "export audit": lambda u, ws: p.can_export_audit(u, ws),
    "administer": lambda u, ws: p.can_administer(u, ws),
    "comment": lambda u, ws: p.is_member(u, ws),
}

TABLE = {
    Role.MARKETER: {"generate", "submit", "publish", "comment"},
    Role.BRAND_REVIEWER: {"decide brand", "publish", "comment"},
    Role.COMPLIANCE: {"decide compliance", "read audit", "export audit", "comment"},
    Role.ADMIN: {
        "generate",
        "submit",
        "decide brand",
        "publish",
        "read audit",
        "export audit",
        "administer",
        "comment",
    },
}


@pytest.mark.parametrize("role", list(TABLE))
def test_each_role_has_exactly_its_abilities(workspace, role):
    user = f.UserFactory()
    f.MembershipFactory(user=user, workspace=workspace, role=role)
    granted = {name for name, check in ABILITIES.items() if check(user, workspace)}
    assert granted == TABLE[role]


def test_admins_hold_every_role_for_has_role_but_never_compliance_sign_off(workspace, ws_admin):
    assert p.has_role(ws_admin, workspace, Role.COMPLIANCE)  # the generic primitive, unchanged
    assert not p.can_decide_stage(ws_admin, workspace, "compliance")
    assert not p.can_decide_kind(ws_admin, workspace, "compliance")
    assert p.can_read_audit(ws_admin, workspace)


def test_outsiders_and_anonymous_people_can_do_nothing(workspace):
    from django.contrib.auth.models import AnonymousUser

    for user in (f.UserFactory(), AnonymousUser()):
        assert not any(check(user, workspace) for check in ABILITIES.values())
    assert not p.can_decide_stage(f.UserFactory(), workspace, "unknown-kind")


def test_workspaces_with_roles_lists_only_where_the_ability_is_held(workspace, compliance):
    other = f.WorkspaceFactory(slug="other")
    f.MembershipFactory(user=compliance, workspace=other, role=Role.MARKETER)
    assert list(p.workspaces_with_roles(compliance, p.AUDIT_READERS)) == [workspace]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (p.RoleRequired, "role_required"),
        (p.SelfApprovalForbidden, "self_approval_forbidden"),
        (p.SeparationOfDuties, "separation_of_duties"),
    ],
)
def test_permission_errors_are_forbidden_refusals(error, code):
    exc = error("Only a marketer can do this in Acme.")
    assert isinstance(exc, Forbidden)
    assert (exc.code, exc.status, exc.message, str(exc)) == (
        code,
        403,
        str(exc),
        "Only a marketer can do this in Acme.",
    )


def test_require_role_names_the_roles_and_the_workspace(workspace, reviewer):
    with pytest.raises(p.RoleRequired, match="Only a marketer can write drafts in Acme."):
        p.require_role(reviewer, workspace, Role.MARKETER, action="write drafts")
