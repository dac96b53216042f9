"""Lineage integrity: what an edit descends from, what a re-run repeats, and the version tree."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.generation import selectors, services
from studio.generation.models import GenerationJob, JobStatus, Operation, Variant, VariantStatus
from studio.lib.imaging import mask_from_box
from tests import factories as f


@pytest.fixture
def draft(marketer, campaign):
    return services.draft_create(
        actor=marketer, campaign=campaign, title="Lemon soda hero", text="A glass of lemon soda on a table"
    )


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run the jobs it enqueues (eager Celery), like the worker would."""

    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = service(**kwargs)
        if isinstance(result, GenerationJob):
            result.refresh_from_db()
            assert result.status == JobStatus.SUCCEEDED, result.error_message
        return result

    return call


@pytest.fixture
def base(run, draft, marketer, offline_deployment):
    request = services.LaunchRequest(deployment=offline_deployment, target_width=512, target_height=512, n=1)
    job = run(services.job_launch, actor=marketer, version=draft.versions.get(), request=request)
    return job.variants.get()


@pytest.fixture
def reference(workspace, marketer):
    return f.VariantFactory(
        workspace=workspace, job__workspace=workspace, created_by=marketer, status=VariantStatus.APPROVED
    )


def test_an_edit_descends_from_its_base_and_the_picked_references(run, base, reference, marketer):
    job = run(
        services.variant_edit,
        actor=marketer,
        variant=base,
        instruction="Put the product from the reference on the table",
        references=[reference],
    )
    child = job.variants.get()
    assert set(child.parents.values_list("pk", flat=True)) == {base.pk, reference.pk}
    assert child.operation == Operation.EDIT
    # The base is the *first* parent, so lineage and the tree follow it, not the reference.
    assert selectors.variant_lineage(variant=child) == [base, child]
    assert base.children.get() == child
    base.refresh_from_db()
    assert base.sha256 != child.sha256  # the base itself never changes


def test_a_masked_edit_is_an_inpaint_whose_child_keeps_the_base_size(run, base, marketer):
    mask = mask_from_box(width=base.width, height=base.height, box=(0.25, 0.25, 0.5, 0.5))
    job = run(services.variant_edit, actor=marketer, variant=base, instruction="A red lemon", mask_png=mask)
    child = job.variants.get()
    assert job.operation == child.operation == Operation.INPAINT
    assert list(child.parents.all()) == [base]
    assert (child.width, child.height) == (base.width, base.height)
    with job.mask.open("rb") as fh:
        assert fh.read() == mask


@pytest.fixture
def edit_job(run, base, reference, marketer):
    mask = mask_from_box(width=base.width, height=base.height, box=(0.1, 0.1, 0.3, 0.3))
    return run(
        services.variant_edit,
        actor=marketer,
        variant=base,
        instruction="Add a paper straw",
        mask_png=mask,
        references=[reference],
        reference_uploads=[f.png_bytes(80, 60, (10, 200, 10))],
    )


def test_a_rerun_repeats_every_parameter_and_input(run, edit_job, marketer):
    rerun = run(services.job_rerun, actor=marketer, job=edit_job)
    assert rerun.pk != edit_job.pk
    assert rerun.rerun_of == edit_job
    same = (
        "params",
        "planned_width",
        "planned_height",
        "target_width",
        "target_height",
        "prompt",
        "instruction",
        "locale",
        "n",
        "route",
        "operation",
        "deployment_id",
        "draft_version_id",
        "base_variant_id",
        "reference_uploads",
    )
    assert {name: getattr(rerun, name) for name in same} == {name: getattr(edit_job, name) for name in same}
    assert len(rerun.reference_uploads) == 1
    assert rerun.mask.name == edit_job.mask.name
    assert list(rerun.reference_variants.order_by("pk")) == list(edit_job.reference_variants.order_by("pk"))
    assert rerun.idempotency_key != edit_job.idempotency_key  # a new call, not a duplicate of the old one


def test_a_rerun_makes_a_sibling_never_an_overwrite(run, edit_job, marketer):
    original = edit_job.variants.get()
    rerun = run(services.job_rerun, actor=marketer, job=edit_job)
    sibling = rerun.variants.get()
    assert sibling.pk != original.pk
    assert set(sibling.parents.values_list("pk", flat=True)) == set(original.parents.values_list("pk", flat=True))
    assert sibling.operation == original.operation
    original.refresh_from_db()
    assert original.job_id == edit_job.pk  # untouched
    assert original.image.name


def test_a_rerun_of_a_generation_makes_new_roots(run, base, marketer):
    rerun = run(services.job_rerun, actor=marketer, job=base.job)
    sibling = rerun.variants.get()
    assert not sibling.parents.exists()
    roots = selectors.draft_tree(draft=base.draft)
    assert {node["variant"].pk for node in roots} == {base.pk, sibling.pk}


def test_draft_tree_nests_edits_under_their_base(run, base, reference, marketer):
    first = run(services.variant_edit, actor=marketer, variant=base, instruction="Warmer").variants.get()
    second = run(services.variant_edit, actor=marketer, variant=first, instruction="Add a straw").variants.get()
    sibling = run(
        services.variant_edit, actor=marketer, variant=base, instruction="Cooler", references=[reference]
    ).variants.get()
    roots = selectors.draft_tree(draft=base.draft)
    # The reference belongs to another draft, so it is not a root of this one; the edit hangs under its base.
    assert [node["variant"] for node in roots] == [base]
    children = roots[0]["children"]
    assert [node["variant"] for node in children] == [first, sibling]
    assert [node["variant"] for node in children[0]["children"]] == [second]
    assert children[1]["children"] == []


def test_a_reference_older_than_the_base_never_becomes_the_parent_in_the_tree(run, draft, marketer, base):
    """Both images come from the same draft and the reference has the lower id: the edit still belongs
    under its base, in the tree and in the lineage."""
    older = run(services.job_rerun, actor=marketer, job=base.job).variants.get()
    assert older.pk > base.pk
    # Edit ``older`` with ``base`` as a reference: the reference (base) now has the lower id.
    child = run(
        services.variant_edit, actor=marketer, variant=older, instruction="Swap the glass", references=[base]
    ).variants.get()
    assert set(child.parents.values_list("pk", flat=True)) == {older.pk, base.pk}
    assert selectors.variant_lineage(variant=Variant.objects.get(pk=child.pk)) == [older, child]
    tree = {node["variant"].pk: node for node in selectors.draft_tree(draft=draft)}
    assert [n["variant"] for n in tree[older.pk]["children"]] == [child]
    assert tree[base.pk]["children"] == []


def _grow_tree(draft, marketer, count):
    """``count`` variants in one draft: a root generation, then a chain and fan of edits (factories, so
    the query count measures the selector, not the pipeline)."""
    root_job = f.GenerationJobFactory(draft_version=draft.versions.get(), created_by=marketer)
    root = f.VariantFactory(job=root_job)
    made = [root]
    for i in range(count - 1):
        parent = made[i // 2]
        job = f.GenerationJobFactory(
            draft_version=draft.versions.get(),
            created_by=marketer,
            operation=Operation.EDIT,
            base_variant=parent,
            instruction=f"Edit {i}",
        )
        child = f.VariantFactory(job=job, operation=Operation.EDIT)
        child.parents.add(parent)
        made.append(child)
    return made


def _render_tree_queries(draft):
    with CaptureQueriesContext(connection) as ctx:
        roots = selectors.draft_tree(draft=draft)

        def walk(nodes):
            for node in nodes:
                variant = node["variant"]
                # What the tree page reads for every node.
                _ = (variant.job.deployment.name, variant.job.instruction, variant.created_by.get_username())
                walk(node["children"])

        walk(roots)
    return len(ctx.captured_queries), roots


def _count(nodes):
    return sum(1 + _count(node["children"]) for node in nodes)


@pytest.mark.parametrize("size", [2, 20])
def test_draft_tree_holds_every_variant(draft, marketer, size):
    made = _grow_tree(draft, marketer, size)
    _queries, roots = _render_tree_queries(draft)
    assert _count(roots) == size
    assert [node["variant"] for node in roots] == [made[0]]


def test_draft_tree_query_count_does_not_grow_with_the_tree(draft, marketer, campaign, workspace):
    small = draft
    _grow_tree(small, marketer, 2)
    large = services.draft_create(actor=marketer, campaign=campaign, title="Large", text="Lemons")
    _grow_tree(large, marketer, 20)
    small_queries, _ = _render_tree_queries(small)
    large_queries, _ = _render_tree_queries(large)
    assert small_queries == large_queries == 1


def test_tree_page_lists_each_version_once(client, draft, marketer, workspace):
    from django.urls import reverse

    made = _grow_tree(draft, marketer, 5)
    client.force_login(marketer)
    body = client.get(reverse("studio:draft_tree", args=[workspace.slug, draft.pk])).content.decode()
    for variant in made:
        assert body.count(f"<strong>#{variant.pk}</strong>") == 1
    assert Variant.objects.filter(draft=draft).count() == 5


def test_variant_page_queries_do_not_grow_with_lineage_depth(
    marketer, workspace, offline_deployment, campaign, django_capture_on_commit_callbacks, client
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from studio.generation import services as studio_services

    draft = studio_services.draft_create(actor=marketer, campaign=campaign, title="Deep", text="A lemon")
    with django_capture_on_commit_callbacks(execute=True):
        job = studio_services.job_launch(
            actor=marketer,
            version=draft.versions.get(),
            request=studio_services.LaunchRequest(
                deployment=offline_deployment, target_width=1024, target_height=1024, n=1, quality="low"
            ),
        )
    chain = [job.variants.get()]
    for step in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            edit = studio_services.variant_edit(actor=marketer, variant=chain[-1], instruction=f"Step {step}")
        chain.append(edit.variants.get())
    client.force_login(marketer)

    def count(variant):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("studio:variant", args=[workspace.slug, variant.pk])).status_code == 200
        return len(ctx.captured_queries)

    shallow, deep = count(chain[1]), count(chain[-1])
    assert deep == shallow
    page = client.get(reverse("studio:variant", args=[workspace.slug, chain[-1].pk])).content.decode()
    assert all(f"#{v.pk}" in page for v in chain)


def test_a_rerun_passes_the_launch_checks_and_reserves_budget(run, base, marketer):
    """A re-run is built by the same validated builder as a launch: the budget check applies to it."""
    campaign = base.job.campaign
    campaign.budget = campaign.spent_cost + campaign.reserved_cost  # nothing left
    campaign.save(update_fields=["budget"])
    with pytest.raises(services.BudgetExceeded):
        services.job_rerun(actor=marketer, job=base.job)
    assert not GenerationJob.objects.filter(rerun_of=base.job).exists()


def test_a_rerun_that_would_no_longer_be_the_same_call_is_refused(run, base, marketer):
    """When the model's size rules changed, the launch checks plan a different call: refused, not run."""
    profile = base.job.deployment.profile
    profile.size_multiple = 64
    profile.save(update_fields=["size_multiple"])
    job = GenerationJob.objects.get(pk=base.job_id)
    job.target_width, job.target_height = 1000, 1000
    job.save(update_fields=["target_width", "target_height"])
    with pytest.raises(services.StudioError, match="cannot be repeated exactly"):
        services.job_rerun(actor=marketer, job=job)
    assert not GenerationJob.objects.filter(rerun_of=job).exists()
