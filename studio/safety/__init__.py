"""Content safety: local rules, Azure AI Content Safety and OpenAI moderation, combined by a
workspace policy into the verdict that decides the approval route (allow: brand review only; review:
brand, then compliance; block: cannot be submitted). Every screener's answer is kept as evidence.

Modules are split by role (clients, policy, rules, ``services`` for screening, ``assessments`` for the
evidence rows, ``selectors``, ``events``, ``tasks``); import from them directly (this package is a Django
app, so its ``__init__`` must not import models). The safety layer knows no job and no image: what a
verdict does to them is the studio's ``studio.generation.screening``.
"""
