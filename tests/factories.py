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
