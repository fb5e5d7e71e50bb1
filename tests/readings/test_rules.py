"""The rule table of ``readings.rules``: every rule is guarded in the gateway fast path or
says why the fast path never sees it, and the snapshot statement is built from it."""

from __future__ import annotations

import re

import pytest

from readings import ingest_snapshot, rules
from readings.rules import RULES, Rule


def test_a_rule_with_neither_a_guard_nor_a_reason_is_refused():
    with pytest.raises(ValueError, match="SQL guard"):
        Rule("new", rules.check_row, "A new rule.")
    with pytest.raises(ValueError, match="SQL guard"):
        Rule("new", rules.check_row, "A new rule.", fast_path=False)  # no reason
    with pytest.raises(ValueError, match="fast path applies it"):
        Rule("new", rules.check_row, "A new rule.", sql="true", fast_path=False, reason="x")


def test_every_rule_in_the_table_has_a_guard_or_a_reason():
    assert len({r.name for r in RULES}) == len(RULES), "rule names are unique"
    for rule in RULES:
        assert callable(rule.check), rule.name
        assert rule.check.__module__ == "readings.rules", rule.name  # the check lives here
        assert rule.sql or (not rule.fast_path and rule.reason), rule.name


def _squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_the_snapshot_statement_requires_every_guard():
    statement = _squash(ingest_snapshot._SNAPSHOT_SQL)
    for rule in RULES:
        if rule.sql is not None:
            assert _squash(rule.sql) in statement, rule.name
    # each stage's WHERE is exactly the table's guards, nothing hand-written beside them
    for stage, after in (("cand", "), ok AS ("), ("ok", "), upd AS (")):
        where = statement[: statement.index(after)].rsplit(" WHERE ", 1)[1].strip()
        assert where == _squash(rules.snapshot_where(stage)), stage
