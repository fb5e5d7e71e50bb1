from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self) -> None:
        from billspree.core.ledger_hooks import documents_issued, invoice_settle_requested
        from ledger.services.postings_from_billing import on_documents_issued, on_settle_requested

        documents_issued.connect(on_documents_issued, dispatch_uid="ledger.documents_issued")
        invoice_settle_requested.connect(on_settle_requested, dispatch_uid="ledger.settle")

        from billspree.core.ledger_hooks import provide_open_amounts
        from ledger.selectors.invoices import open_amounts

        provide_open_amounts(open_amounts)

        from django.db.models.signals import post_save

        from ledger.services.accounts import on_tenant_saved
        from tenants.models import Tenant

        post_save.connect(on_tenant_saved, sender=Tenant, dispatch_uid="ledger.tenant_account")
