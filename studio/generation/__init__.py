"""The studio: campaigns, drafts and versions, deployments, generation jobs, variants and their lifecycle,
edits and localisation."""
