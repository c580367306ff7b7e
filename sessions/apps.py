from django.apps import AppConfig


class TapSessionsConfig(AppConfig):
    # "sessions" is taken by django.contrib.sessions; the label fixes migration names.
    name = "sessions"
    label = "tapsessions"
    verbose_name = "Process sessions"
    default_auto_field = "django.db.models.BigAutoField"
