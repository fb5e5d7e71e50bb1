"""The database proves the ledger (``DESIGN.md``: "the database refuses an entry that would
break it"):

- entries and allocations are append-only: UPDATE and DELETE are refused;
- every INSERT of entries is checked set-based after the statement: each entry continues its
  account's chain (``seq`` n follows n − 1, ``balance_after`` = previous + ``amount``) and
  each account it touched caches exactly its last entry's running balance;
- at COMMIT (deferred), every account whose cached balance or ``last_seq`` changed points at
  its last entry and that entry's ``balance_after``: a raw UPDATE of a balance is refused;
- allocations never pay a debit more than its amount, never spend more of a credit than it
  has, and stay inside one account.

Statement-level triggers with transition tables keep a 100,000-payment import set-based
(one check per statement, not one per row).
"""

from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused (post a reversing entry instead)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_allocation_append_only BEFORE UPDATE OR DELETE ON ledger_allocation
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE OR REPLACE FUNCTION ledger_entry_chain() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.account_id, n.seq INTO bad
      FROM new_rows n
      JOIN ledger_account a ON a.id = n.account_id
      LEFT JOIN ledger_ledgerentry p ON p.account_id = n.account_id AND p.seq = n.seq - 1
     WHERE (n.seq > 1 AND p.id IS NULL)
        OR n.balance_after <> COALESCE(p.balance_after, 0) + n.amount
        OR n.organization_id <> a.organization_id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % of account % breaks the chain: its balance_after must '
            'be the previous entry''s plus its amount', bad.seq, bad.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT t.account_id INTO bad
      FROM (SELECT account_id, max(seq) AS seq FROM new_rows GROUP BY account_id) t
      JOIN ledger_account a ON a.id = t.account_id
      JOIN ledger_ledgerentry e ON e.account_id = t.account_id AND e.seq = t.seq
     WHERE a.last_seq <> t.seq OR a.balance <> e.balance_after
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'account % does not cache its last entry''s balance', bad.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_chain AFTER INSERT ON ledger_ledgerentry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_chain();

CREATE OR REPLACE FUNCTION ledger_account_balance() RETURNS trigger AS $$
DECLARE
    cur_balance numeric;
    cur_seq bigint;
    last_balance numeric;
BEGIN
    -- deferred: NEW is the row as this event left it; check the row as it is now
    SELECT balance, last_seq INTO cur_balance, cur_seq FROM ledger_account WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF cur_seq = 0 THEN
        last_balance := 0;
    ELSE
        SELECT balance_after INTO last_balance FROM ledger_ledgerentry
         WHERE account_id = NEW.id AND seq = cur_seq;
    END IF;
    IF last_balance IS NULL OR cur_balance <> last_balance OR EXISTS (
        SELECT 1 FROM ledger_ledgerentry WHERE account_id = NEW.id AND seq > cur_seq
    ) THEN
        RAISE EXCEPTION 'account %: cached balance % is not the sum of its ledger entries',
            NEW.id, cur_balance USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_account_balance
    AFTER INSERT OR UPDATE OF balance, last_seq ON ledger_account
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_account_balance();

CREATE OR REPLACE FUNCTION ledger_allocation_bounds() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.id INTO bad
      FROM new_rows n
      JOIN ledger_ledgerentry c ON c.id = n.credit_id
      JOIN ledger_ledgerentry d ON d.id = n.debit_id
     WHERE c.amount >= 0 OR d.amount <= 0 OR c.account_id <> d.account_id
        OR n.organization_id <> d.organization_id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'allocation % must take a credit of one account to a debit of the same',
            bad.id USING ERRCODE = 'check_violation';
    END IF;
    SELECT d.id INTO bad
      FROM (SELECT DISTINCT debit_id FROM new_rows) t
      JOIN ledger_ledgerentry d ON d.id = t.debit_id
      JOIN ledger_allocation a ON a.debit_id = t.debit_id
     GROUP BY d.id, d.amount
    HAVING sum(a.amount) > d.amount OR sum(a.amount) < 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % would be paid more than its amount', bad.id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT c.id INTO bad
      FROM (SELECT DISTINCT credit_id FROM new_rows) t
      JOIN ledger_ledgerentry c ON c.id = t.credit_id
      JOIN ledger_allocation a ON a.credit_id = t.credit_id
     GROUP BY c.id, c.amount
    HAVING sum(a.amount) > -c.amount OR sum(a.amount) < 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % would allocate more than it credits', bad.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_allocation_bounds AFTER INSERT ON ledger_allocation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION ledger_allocation_bounds();
"""

REVERSE = """
DROP TRIGGER IF EXISTS ledger_allocation_bounds ON ledger_allocation;
DROP FUNCTION IF EXISTS ledger_allocation_bounds();
DROP TRIGGER IF EXISTS ledger_account_balance ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_balance();
DROP TRIGGER IF EXISTS ledger_entry_chain ON ledger_ledgerentry;
DROP FUNCTION IF EXISTS ledger_entry_chain();
DROP TRIGGER IF EXISTS ledger_allocation_append_only ON ledger_allocation;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_ledgerentry;
DROP FUNCTION IF EXISTS ledger_append_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(SQL, REVERSE),
    ]
