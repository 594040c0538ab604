"""postgis module: postgres's options with a provider cloning from template_postgis, in any order."""

from __future__ import annotations

import pytest

from testctr.modules import postgis, postgres
from testctr.option import build_spec


@pytest.mark.parametrize("before", [True, False])
def test_postgres_helpers_keep_the_postgis_provider(before: bool) -> None:
    extra = [postgis.with_template("CREATE TABLE t (g geometry)"), postgres.with_dsn_client("exec")]
    spec = build_spec([*extra, postgis.default()] if before else [postgis.default(), *extra])
    provider = spec.dsn_provider
    assert isinstance(provider, postgis.PostGISDSN)
    assert provider.base_template == "template_postgis"
    assert (provider.template, provider.admin_client) == ("CREATE TABLE t (g geometry)", "exec")


def test_default_is_postgres_default_plus_the_provider() -> None:
    pg, gis = build_spec([postgres.default()]), build_spec([postgis.default()])
    assert (gis.config.env, gis.config.args, gis.config.tmpfs) == (pg.config.env, pg.config.args, pg.config.tmpfs)
    assert type(pg.dsn_provider) is postgres.PostgresDSN
    assert postgres.PostgresDSN.base_template is None
