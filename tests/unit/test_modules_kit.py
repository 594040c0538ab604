"""modules.kit: the validation and URL helpers a module builds on."""

from __future__ import annotations

import pytest

from testctr.errors import InvalidOption
from testctr.modules import kit
from testctr.option import build_spec


def test_text_rejects_wrong_types_and_bad_values() -> None:
    assert kit.text("abc", "x") == "abc"
    assert kit.text("", "x", allow_empty=True) == ""
    with pytest.raises(InvalidOption, match="x must be a str"):
        kit.text(3, "x")
    for bad in ("", "a\nb", "a\x00b"):
        with pytest.raises(InvalidOption):
            kit.text(bad, "x")


def test_positive_int_and_port_number() -> None:
    assert kit.positive_int(5, "n") == 5
    assert kit.port_number(65535, "p") == 65535
    for wrong in (True, 1.5, "3"):
        with pytest.raises(InvalidOption):
            kit.positive_int(wrong, "n")
    for bad in (0, -1):
        with pytest.raises(InvalidOption):
            kit.positive_int(bad, "n")
    with pytest.raises(InvalidOption, match="1-65535"):
        kit.port_number(65536, "p")


class FakeContainer:
    def __init__(self, env: dict[str, str]) -> None:
        self.config = build_spec([]).config
        self.config.env.update(env)

    def endpoint(self, port: object) -> str:
        return "127.0.0.1:4242"


def test_env_of_and_http_url() -> None:
    ctr = FakeContainer({"A": "1", "EMPTY": ""})
    assert kit.env_of(ctr, "A") == "1"  # type: ignore[arg-type]
    assert kit.env_of(ctr, "EMPTY", "dflt") == "dflt"  # type: ignore[arg-type]
    assert kit.http_url(ctr, 80) == "http://127.0.0.1:4242/"  # type: ignore[arg-type]
    assert kit.http_url(ctr, 80, "/a b/c?x=1") == "http://127.0.0.1:4242/a%20b/c?x=1"  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        kit.http_url(ctr, 80, "relative")  # type: ignore[arg-type]


def test_config_lines_stack_in_any_order_with_first() -> None:
    spec = build_spec([kit.config_lines("/etc/x.conf", ["b"]), kit.config_lines("/etc/x.conf", ["a"], first=True)])
    assert [(f.container_path, f.data) for f in spec.config.files] == [("/etc/x.conf", b"a\nb\n")]
