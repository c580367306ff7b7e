from django.apps import AppConfig


class OutputSearchConfig(AppConfig):
    """Full-text search over what programs printed (their recordings), not only their events."""

    name = "output_search"
    label = "output_search"
    verbose_name = "Output search"
    default_auto_field = "django.db.models.BigAutoField"
