from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from billspree.core.signals import login_organizations

        def tenant_portal_organizations(sender, user, **kwargs):
            """A tenant's login belongs to the organizations that gave it portal access:
            a lock of that login is audited there (core cannot import tenants)."""
            from tenants.selectors import tenant_accesses_for_user

            return [access.organization for access in tenant_accesses_for_user(user)]

        login_organizations.connect(
            tenant_portal_organizations, dispatch_uid="tenants.login_organizations", weak=False
        )
