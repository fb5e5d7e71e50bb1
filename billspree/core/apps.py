from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "billspree.core"
    label = "core"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from billspree.core import schema  # noqa: F401  (registers the OpenAPI extension)
