"""PostGIS: the official ``postgis/postgis`` image, PostgreSQL with the spatial extensions.

    db = testctr.new(request, postgis.IMAGE, postgis.default())
    dsn = db.dsn(request)        # a fresh database for this test, PostGIS already in it

Everything of :mod:`testctr.modules.postgres` applies (``dsn(t)``, the
``with_*`` helpers, which this module re-exports): ``default()`` is
postgres's, with a DSN provider that clones each test's database from the
image's ``template_postgis`` (made at first start, with the ``postgis``,
``postgis_topology``, ``fuzzystrmatch`` and ``postgis_tiger_geocoder``
extensions) instead of ``template1``. A :func:`with_template` is built on top
of ``template_postgis`` too, so migrations can use PostGIS types.
"""

from __future__ import annotations

from testctr.modules import postgres
from testctr.modules.postgres import (
    with_config,
    with_data_on_disk,
    with_database,
    with_dsn_client,
    with_init_script,
    with_password,
    with_template,
    with_user,
)
from testctr.option import Option, Spec, options

IMAGE = "postgis/postgis:16-3.4"
#: The database the image makes at first start with the PostGIS extensions in it.
TEMPLATE = "template_postgis"


class PostGISDSN(postgres.PostgresDSN):
    """postgres's DSN provider, cloning from ``template_postgis``."""

    base_template = TEMPLATE


def _use_postgis_provider(spec: Spec) -> None:
    current = spec.dsn_provider
    if isinstance(current, PostGISDSN):
        return
    made = PostGISDSN(spec.config)
    # postgres helpers given earlier configured a plain provider: carry their choices over.
    if isinstance(current, postgres.PostgresDSN):
        made.template = current.template
        made.admin_client = current.admin_client
    spec.dsn_provider = made


def default() -> Option:
    """postgres's default(), with databases cloned from ``template_postgis``."""
    return options(postgres.default(), Option("postgis.dsn_provider()", _use_postgis_provider))


__all__ = [
    "IMAGE",
    "TEMPLATE",
    "PostGISDSN",
    "default",
    "with_config",
    "with_data_on_disk",
    "with_database",
    "with_dsn_client",
    "with_init_script",
    "with_password",
    "with_template",
    "with_user",
]
