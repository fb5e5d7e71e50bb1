from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing.services.batches import on_organization_changed
        from billspree.core.signals import organization_changed

        organization_changed.connect(on_organization_changed, dispatch_uid="billing.batches_tz")

        from billing.services.adjustments import on_billing_inputs_changed
        from billspree.core.billing_inputs import billing_inputs_changed

        billing_inputs_changed.connect(on_billing_inputs_changed, dispatch_uid="billing.late_data")
