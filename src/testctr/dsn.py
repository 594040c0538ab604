"""Per-test databases: the protocol a database module implements for ``Container.dsn``.

The core owns naming, caching, concurrency, pooling and cleanup
(:mod:`testctr.dbpool`); a provider only knows how to create, drop and format
a database on its server. What a provider can do beyond that, it says by
implementing one of the optional protocols below; what it cannot, by not
implementing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from testctr import sessions
from testctr.errors import TestctrError
from testctr.parsing import database_session

if TYPE_CHECKING:
    from testctr.container import Container


class DatabaseLimitReached(TestctrError):
    """The server can hold no more databases right now (e.g. all of Redis's are in use).

    A provider raises it from ``create_database``; the pool then stops growing
    until a database is dropped, and a test that finds no ready one gets it.
    """


@runtime_checkable
class DSNProvider(Protocol):
    #: The server's limit on database name length.
    max_name_length: int

    def create_database(self, container: Container, name: str) -> str:
        """Create a fresh, complete database for ``name`` and return its handle.

        The handle is what identifies it on the server (usually ``name``; a
        Redis provider returns a database index). A leftover from an earlier
        run with the same name must be replaced, not reused. May be called
        from several threads at once (a test's and the pool's).
        """
        ...

    def drop_database(self, container: Container, handle: str) -> None: ...

    def format_dsn(self, container: Container, handle: str, driver: str | None = None) -> str:
        """The connection string; ``driver`` picks a variant (e.g. "psycopg")."""
        ...


@runtime_checkable
class ListsDatabases(Protocol):
    """Lets the pool find and drop pooled databases that dead sessions left on the server."""

    def list_databases(self, container: Container, prefix: str) -> list[str]:
        """The handles of the databases whose names start with ``prefix``."""
        ...


@runtime_checkable
class VersionedDatabases(Protocol):
    """Databases that depend on changeable state (a template): pooled ones made before a change are not handed out."""

    def database_version(self) -> object:
        """A value that changes whenever what create_database makes changes; cheap, no server round trip."""
        ...


def drop_dead_sessions(container: Container, provider: DSNProvider) -> None:
    """Drop the databases that ended runs left on ``container`` (their names carry the run's token).

    For a server that outlives runs (with_reuse, with_shared). The pool's own
    sweep (:mod:`testctr.dbpool`) drops dead sessions' pooled, not yet taken,
    databases; this drops the ones tests took.
    """
    if not isinstance(provider, ListsDatabases):
        return
    dead: set[str] = set()
    for name in provider.list_databases(container, "t"):
        token = database_session(name)
        if token is not None and (token in dead or sessions.dead(token)):
            dead.add(token)
            provider.drop_database(container, name)
    for token in dead:
        sessions.forget(token)
