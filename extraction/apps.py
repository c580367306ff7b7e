from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_triggers(sender, using, **kwargs):
    from . import search

    search.ensure_triggers(using)


class ExtractionConfig(AppConfig):
    name = "extraction"
    verbose_name = "Extraction"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_ensure_search_triggers, sender=self)
