"""Per-test databases: the protocol a database module implements for ``Container.dsn``.

The core owns naming, caching, concurrency and cleanup; a provider only knows
how to create, drop and format a database on its server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from testctr import sessions
from testctr.parsing import database_session

if TYPE_CHECKING:
    from testctr.container import Container


@runtime_checkable
class DSNProvider(Protocol):
    #: The server's limit on database name length.
    max_name_length: int

    def create_database(self, container: Container, name: str) -> str:
        """Create a fresh database for ``name`` and return its handle.

        The handle is what identifies it on the server (usually ``name``; a
        Redis provider returns a database index). A leftover from an earlier
        run with the same name must be replaced, not reused.
        """
        ...

    def drop_database(self, container: Container, handle: str) -> None: ...

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        """The connection string; ``driver`` picks a variant (e.g. "psycopg")."""
        ...


@runtime_checkable
class ListsDatabases(Protocol):
    """A provider that can list its server's databases: then a run drops those of dead runs
    on a server that outlives runs (with_reuse, with_shared)."""

    def list_databases(self, container: Container) -> list[str]: ...


def drop_dead_sessions(container: Container, provider: DSNProvider) -> None:
    """Drop the databases that ended runs left on ``container`` (their names carry the run's token)."""
    if not isinstance(provider, ListsDatabases):
        return
    dead: set[str] = set()
    for name in provider.list_databases(container):
        token = database_session(name)
        if token is not None and (token in dead or sessions.dead(token)):
            dead.add(token)
            provider.drop_database(container, name)
    for token in dead:
        sessions.forget(token)
