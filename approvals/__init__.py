"""Approvals: safety routing, review queue, decisions, audit history and publishing."""
