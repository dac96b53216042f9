"""Imprimatur studio: project settings plus drafting, generation, edits, providers, sizing, pricing."""

from studio.celery import app as celery_app

__all__ = ("celery_app",)
