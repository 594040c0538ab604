"""Image names for runs of examples/ on this project's machines, which reach no registry.

scripts/provision builds local stand-ins for the official images the examples
name (images/README.md); this maps the names to them unless the run already has
a TESTCTR_IMAGE_MAP. A project of your own needs none of this: its engine pulls
``postgres:16`` and ``redis:7-alpine``.
"""

from __future__ import annotations

import os

from testctr import settings
from testctr.parsing import parse_image_map

os.environ.setdefault("TESTCTR_IMAGE_MAP", "postgres:16=testctr.local/postgres:15,redis:7-alpine=testctr.local/redis:7")
# The pytest plugin read the settings before this file was imported.
settings.configure(image_map=parse_image_map(os.environ["TESTCTR_IMAGE_MAP"]))
