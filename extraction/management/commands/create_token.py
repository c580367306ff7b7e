"""Print a user's API token, creating it if needed: `manage.py create_token USERNAME`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = "Print the REST API token of USERNAME (created if it has none)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--reset", action="store_true", help="replace an existing token with a new one"
        )

    def handle(self, *args, username: str, reset: bool, **options):
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}; create it with createsuperuser") from None
        if reset:
            Token.objects.filter(user=user).delete()
        token, _created = Token.objects.get_or_create(user=user)
        # Only the key on stdout, so scripts can capture it: TOKEN=$(manage.py create_token me)
        self.stdout.write(token.key)
