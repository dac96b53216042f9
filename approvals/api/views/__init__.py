"""The delivery API's views, by area: ``studio`` (campaigns, drafts, jobs, variants, runs),
``approvals`` (reviews, publications, the audit export), ``keys`` (the admins' API key page)."""
