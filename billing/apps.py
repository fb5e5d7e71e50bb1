from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing.services.batches import on_organization_changed
        from billspree.core.signals import organization_changed

        organization_changed.connect(on_organization_changed, dispatch_uid="billing.batches_tz")
