from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "billspree.core"
    label = "core"
    verbose_name = "Organizations"
