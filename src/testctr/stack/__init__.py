"""Compose projects as testctr containers: :func:`testctr.compose` and :func:`testctr.compose_run`.

Not named ``testctr.compose``: importing a submodule of that name would hide
the function ``testctr.compose`` behind the module.
"""
