"""Tenant portal views of billing: a tenant's own invoices and statements."""
