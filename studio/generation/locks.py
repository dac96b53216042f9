"""The one lock order every write transaction follows, so two transactions can never wait on each other.

Global order (take locks in this order, never the reverse; skip what a transaction does not need):

1. the **campaign** row (``campaign_lock``) — budgets, and the row every draft, job and variant refers to;
2. a **production run** row (``studio.runs``), when the change is about a run;
3. **jobs** by primary key (``job_lock``, after its campaign: ``job_lock_with_campaign``);
4. a run's **cells** (``studio.runs``: a cell's outcome is written in its job's record transaction, through
   ``job_execute``'s ``on_record``, after the job's row);
5. **variants** by primary key (``studio.generation.lifecycle``, ``screening``);
6. **reviews, stages, comments, publications** (the approvals apps);
7. the workspace's **audit chain head** LAST — ``studio.core.audit`` takes it inside ``audit_append``,
   which every event builder calls, or when an ``audit_batch`` block ends, so an event is always written
   after the rows it describes are locked.

Why the campaign comes first even for a transaction that only inserts (a draft, a job): Django's foreign
keys on PostgreSQL are ``DEFERRABLE INITIALLY DEFERRED``, so the check that the draft's campaign exists
runs at COMMIT and takes ``FOR KEY SHARE`` on the campaign row — *after* the transaction has taken the
audit chain head. A worker settling a job held the campaign and waited for the chain head: a deadlock
(issue 10). Locking the campaign up front moves that wait before the chain head, where it cannot invert.

Campaign locks are ``FOR NO KEY UPDATE`` (``no_key=True``): a budget change never touches the key, and that
lock mode does not conflict with the ``FOR KEY SHARE`` of other transactions' foreign-key checks, so
inserting rows that reference a campaign never waits for a settling job at all.

The same holds for every other row lock in the order (runs, jobs, cells, variants, reviews, stages,
comments, publications, deployments): they are all ``FOR NO KEY UPDATE``, because no transaction deletes
the row it locks or changes its key. A plain ``FOR UPDATE`` on a variant would conflict with the
``FOR KEY SHARE`` that inserting a comment or an edit job referencing it takes at COMMIT, after that
transaction took the audit chain head: the campaign deadlock again, one table down. Only rows a
transaction may delete (webhook endpoints) keep ``FOR UPDATE``; the audit chain head is ``FOR UPDATE`` on
its own table, which nothing references.

A transaction takes the campaign only if it changes the budget: a job's success is recorded without it
and settled right after in a short transaction of its own (``studio.generation.services.budget``), since
every cell of a run settles on the same campaign row and a record holding it made them queue.

On SQLite ``select_for_update`` is a no-op (writes serialise on the database lock, ``IMMEDIATE``
transactions), so these helpers only cost a read there.
"""

from __future__ import annotations

from studio.generation.models import Campaign, GenerationJob

_JOB_RELATED = ("deployment__profile", "workspace", "draft_version__draft")


def campaign_lock(campaign_id: int) -> Campaign:
    """Step 1: lock the campaign row (``FOR NO KEY UPDATE``). Call before any other lock in the order."""
    return Campaign.objects.select_for_update(of=("self",), no_key=True).get(pk=campaign_id)


def job_lock(job_id: int, *, related: tuple[str, ...] = _JOB_RELATED) -> GenerationJob:
    """Step 2: lock one job row. Its campaign, if the transaction needs it, must be locked already."""
    rows = GenerationJob.objects.select_for_update(of=("self",), no_key=True)
    # ``select_related()`` with no names would follow every foreign key: only name what was asked for.
    return (rows.select_related(*related) if related else rows).get(pk=job_id)


def job_lock_with_campaign(job_id: int, *, related: tuple[str, ...] = _JOB_RELATED) -> GenerationJob:
    """Steps 1 and 2 for a transaction that settles a job's budget: the campaign first, then the job.

    A job's campaign never changes, so reading it unlocked to know which campaign to lock is safe."""
    campaign_id = GenerationJob.objects.values_list("campaign_id", flat=True).get(pk=job_id)
    campaign_lock(campaign_id)
    return job_lock(job_id, related=related)
