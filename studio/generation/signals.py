"""What the studio tells the layers above it, inside the same transaction as the change.

The studio never imports the approvals app; the approvals app connects to these in its ``ready()``
(as Wagtail's workflows listen to ``task_approved``). Receivers run inside the sender's transaction, so
their writes commit or roll back with the change that caused them.
"""

from django.dispatch import Signal

# A newer version of ``variant`` now exists (an edit, inpaint, localisation or re-run succeeded):
# any open review of ``variant`` is out of date. kwargs: variant, actor.
variant_superseded = Signal()

# A job's cost is final: ``budget_settle`` released its reservation and counted ``actual`` (the job row
# is saved by the caller right after, in the same transaction). kwargs: job, actual, campaign (the job's
# campaign row as the settle locked and saved it, for a receiver that reads its budget numbers).
job_settled = Signal()
