"""AppleConfig refuses settings no VM can have."""

from __future__ import annotations

import pytest

from testctr.backends.apple.config import AppleConfig
from testctr.errors import InvalidOption


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cpus": 0},
        {"cpus": 1.5},
        {"memory": "lots"},
        {"arch": "mips"},
        {"dns": "1.1.1.1"},
        {"no_dns": True, "dns": ["x"]},
    ],
)
def test_apple_config_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOption):
        AppleConfig(**kwargs)  # type: ignore[arg-type]
