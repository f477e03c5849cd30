from django.apps import AppConfig


class PostmortemConfig(AppConfig):
    name = "postmortem"
    verbose_name = "Post-mortems"
