from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "billspree.core"
    label = "core"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from django.db.models import Field, ForeignObject
        from django.db.models.signals import pre_save

        from billspree.core.db import AnyOf

        Field.register_lookup(AnyOf)
        ForeignObject.register_lookup(AnyOf)  # relations look their lookups up from here

        from billspree.core import schema  # noqa: F401  (registers the OpenAPI extension)
        from billspree.core.validators import refuse_multi_line_names

        pre_save.connect(refuse_multi_line_names, dispatch_uid="core.refuse_multi_line_names")
