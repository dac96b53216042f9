"""Workspaces, memberships, roles and access rules, notifications, and the audit hash chain."""
