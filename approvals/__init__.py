"""Approvals: the layers from review onward (reviews, publishing, compliance)."""
