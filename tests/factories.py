"""factory_boy factories for the whole domain. Images are real PNG bytes made with Pillow."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from PIL import Image

from studio.core import models as core_models
from studio.generation import models as sm
from studio.safety import models as safety_models


def png_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-correct-horse")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = core_models.Workspace
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    style_guide = "Bright, optimistic, lots of natural light."
    default_locales = factory.LazyFunction(lambda: ["en"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = core_models.Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = core_models.Role.MARKETER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    locales = factory.LazyFunction(lambda: ["en", "ja"])
    budget = Decimal("100")


class CampaignFormatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.CampaignFormat

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Format {n}")
    channel = "Display"
    width = 1200
    height = 628


class CapabilityProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.CapabilityProfile
        django_get_or_create = ("name",)

    name = "gpt-image-2"
    size_mode = sm.SizeMode.FLEXIBLE
    qualities = factory.LazyFunction(lambda: ["low", "medium", "high", "auto"])
    output_formats = factory.LazyFunction(lambda: ["png", "jpeg", "webp"])
    backgrounds = factory.LazyFunction(lambda: ["opaque", "auto"])
    default_output_tokens = factory.LazyFunction(lambda: {"low": 260, "medium": 1010, "high": 3970, "auto": 1010})


class PriceTableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.PriceTable
        django_get_or_create = ("model_name", "provider", "effective_from")

    model_name = "gpt-image-2"
    provider = ""
    effective_from = factory.LazyFunction(lambda: __import__("datetime").date(2026, 4, 21))
    image_input = Decimal("8")
    cached_image_input = Decimal("2")
    image_output = Decimal("30")
    text_input = Decimal("5")
    cached_text_input = Decimal("1.25")
    text_output = Decimal("10")


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Deployment

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"deployment-{n}")
    provider = sm.ProviderKind.OFFLINE
    model = "gpt-image-2"
    profile = factory.SubFactory(CapabilityProfileFactory)


class PromptDraftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.PromptDraft

    campaign = factory.SubFactory(CampaignFactory)
    workspace = factory.SelfAttribute("campaign.workspace")
    title = factory.Sequence(lambda n: f"Draft {n}")
    created_by = factory.SubFactory(UserFactory)


class DraftVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.DraftVersion

    draft = factory.SubFactory(PromptDraftFactory)
    number = factory.Sequence(lambda n: n + 1)
    text = "A sunlit kitchen with a bowl of lemons"
    created_by = factory.SelfAttribute("draft.created_by")


class GenerationJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.GenerationJob

    draft_version = factory.SubFactory(DraftVersionFactory)
    campaign = factory.SelfAttribute("draft_version.draft.campaign")
    workspace = factory.SelfAttribute("campaign.workspace")
    deployment = factory.SubFactory(DeploymentFactory, workspace=factory.SelfAttribute("..workspace"))
    created_by = factory.SelfAttribute("draft_version.created_by")
    prompt = factory.SelfAttribute("draft_version.text")
    target_width = 1024
    target_height = 1024
    planned_width = 1024
    planned_height = 1024
    status = sm.JobStatus.SUCCEEDED


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = sm.Variant

    job = factory.SubFactory(GenerationJobFactory)
    workspace = factory.SelfAttribute("job.workspace")
    draft = factory.SelfAttribute("job.draft_version.draft")
    created_by = factory.SelfAttribute("job.created_by")
    index = factory.Sequence(lambda n: n)
    width = 64
    height = 48
    format = "png"
    status = sm.VariantStatus.READY
    safety_verdict = safety_models.SafetyVerdict.ALLOW

    @factory.lazy_attribute
    def image(self):
        return ContentFile(png_bytes(self.width, self.height), name="variant.png")

    @factory.lazy_attribute
    def sha256(self):
        return hashlib.sha256(png_bytes(self.width, self.height)).hexdigest()
