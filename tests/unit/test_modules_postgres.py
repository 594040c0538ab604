"""The statements of the postgres module's DSN provider (pure functions, no server)."""

from __future__ import annotations

from testctr.modules.postgres import create_statement


def test_a_database_is_copied_file_by_file_where_the_server_has_a_choice() -> None:
    assert create_statement("t_a", None, 150004) == 'CREATE DATABASE "t_a" STRATEGY FILE_COPY'
    assert create_statement("t_a", "tpl", 160000) == 'CREATE DATABASE "t_a" TEMPLATE "tpl" STRATEGY FILE_COPY'


def test_servers_before_15_get_no_strategy_clause_they_would_refuse() -> None:
    assert create_statement("t_a", None, 140011) == 'CREATE DATABASE "t_a"'
    assert create_statement('we"ird', "tpl", 130000) == 'CREATE DATABASE "we""ird" TEMPLATE "tpl"'
