from django.core.management.base import BaseCommand

from extraction.groups import group_ungrouped_events
from streamtap_site.schema import MigratesFirst


class Command(MigratesFirst, BaseCommand):
    help = (
        "Group the errors and warnings stored without a fingerprint (written before error "
        "groups existed, or by generate_demo_data). Idempotent: grouped events are skipped."
    )

    def handle(self, *args, **options):
        grouped = group_ungrouped_events()
        self.stdout.write(f"{grouped} event(s) grouped")
