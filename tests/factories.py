import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from mes.roles import ADMIN_ROLES

TEST_PASSWORD = "test-password-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if not create or not extracted:
            self.save()
            return
        for role in extracted:
            self.groups.add(Group.objects.get(name=role))
        self.is_staff = any(role in ADMIN_ROLES for role in extracted)
        self.save()


class MaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Material"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"M{n:05d}")
    name = factory.Sequence(lambda n: f"Material {n}")
    unit = "PCS"
    decimal_places = 0


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Location"
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH1-A-{n:02d}")
    name = factory.LazyAttribute(lambda location: location.code)
    level = "bin"
    location_type = "storage"


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Batch"

    material = factory.SubFactory(MaterialFactory, is_batch_tracked=True)
    number = factory.Sequence(lambda n: f"L{n:04d}")
