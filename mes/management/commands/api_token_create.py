from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mes.errors import ApplicationError
from mes.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print its key once (only its hash is stored). "
        "The user sees and revokes it on their API tokens page."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what or who uses the token")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            issued = api_token_create(actor=None, user=user, name=name)
        except ApplicationError as error:
            problems = "; ".join(p for ps in error.fields.values() for p in ps)
            raise CommandError(f"{error.code} {error.message} {problems}".strip()) from None
        self.stderr.write(
            f"API token {issued.token.name!r} for {username} (shown once; only its hash is kept):"
        )
        self.stdout.write(issued.key)
