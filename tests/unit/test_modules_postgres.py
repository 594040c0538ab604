"""The statements of the postgres module's DSN provider (pure functions, no server)."""

from __future__ import annotations

from testctr.modules.postgres import PASSWORD_ITERATIONS, create_statement, scram_secret


def test_a_database_is_copied_file_by_file_where_the_server_has_a_choice() -> None:
    assert create_statement("t_a", None, 150004) == 'CREATE DATABASE "t_a" STRATEGY FILE_COPY'
    assert create_statement("t_a", "tpl", 160000) == 'CREATE DATABASE "t_a" TEMPLATE "tpl" STRATEGY FILE_COPY'


def test_servers_before_15_get_no_strategy_clause_they_would_refuse() -> None:
    assert create_statement("t_a", None, 140011) == 'CREATE DATABASE "t_a"'
    assert create_statement('we"ird', "tpl", 130000) == 'CREATE DATABASE "we""ird" TEMPLATE "tpl"'


def test_the_stored_password_secret_verifies_rfc_7677s_exchange() -> None:
    """RFC 7677's SCRAM-SHA-256 example: the client's proof must match the stored key, and
    the server's signature (from the server key) must be the one the RFC's client accepted."""
    import base64
    import hashlib
    import hmac

    first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    final_without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    server_signature = base64.b64decode("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    auth_message = f"{first_bare},{server_first},{final_without_proof}".encode()

    secret = scram_secret("pencil", 4096, base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="))

    method, rest = secret.split("$", 1)
    iterations_salt, keys = rest.split("$")
    assert method == "SCRAM-SHA-256"
    assert iterations_salt == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    client_signature = hmac.new(stored_key, auth_message, "sha256").digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    assert hmac.new(server_key, auth_message, "sha256").digest() == server_signature


def test_the_stored_secret_is_stretched_once_with_a_fresh_salt_each_time() -> None:
    a, b = scram_secret("test"), scram_secret("test")
    assert a.startswith(f"SCRAM-SHA-256${PASSWORD_ITERATIONS}:")
    assert PASSWORD_ITERATIONS == 1
    assert a != b  # salts differ
