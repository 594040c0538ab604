"""Every public input is checked where it is given: generated values never escape as anything but a TestctrError.

The targets are enumerated, not listed: every ``with_*`` option of ``testctr``,
every helper of every service module, every ``parse_*`` parser, every
``TESTCTR_*`` setting and the Container methods that take user input. A new
option is covered the day it is added. Each target gets values of its
annotated types plus values of any other type (wrong types raise
InvalidOption too), with NUL bytes, unicode, empty strings, huge and
non-finite numbers. What passes validation must be clean: no NUL byte, no
number out of its documented range. Nothing here resolves a backend.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import testctr
from testctr import TestctrError, backends, parsing
from testctr.backend.types import ContainerConfig
from testctr.container import Container
from testctr.modules import __all__ as MODULE_NAMES
from testctr.option import Option, Spec, build_spec
from testctr.settings import PARSERS, Settings

# As many examples per target as the run's hypothesis profile says (tests/conftest.py).
# database=None throughout: no example database to read and write for each of the ~110
# targets keeps the file fast; a failure prints the seed that reproduces it.
#: A generous bound per call: validation is microseconds; this catches hangs and regex blow-ups.
SLOW = 2.0

_strings = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "/x\x00",
            "\n",
            "a\r",
            "é",
            "\u0663",
            "-x",
            "a=b",
            "a,b",
            "/",
            "/tmp",
            "/x/../y",
            "6379",
            "127.0.0.1:8080:80",
            "[::1]:1:2",
            "65536",
            "512m",
            "1" * 400 + "m",
            "1e12",
            "10000001",
            "5m",
            "0",
            "nan",
            "inf",
            "redis:7",
            "Redis",
            "a@sha256:" + "0" * 64,
            "linux/amd64",
            "true",
        ]
    ),
)
_ints = st.one_of(st.integers(), st.sampled_from([0, -1, 1, 65535, 65536, 2**31 - 1, 2**31, 2**63, 10**400]))
_floats = st.one_of(st.floats(), st.sampled_from([1e10, 6e299, 1e300, -0.0, 0.005, 1024.5]))
_scalars = st.one_of(_ints, _floats, _strings)
_dicts = st.dictionaries(_strings, _scalars, max_size=2)
_lists = st.lists(_strings, max_size=2)
#: Values of other types than the annotated ones: a fixed sample is as good as generated ones, and cheaper.
_odd = st.sampled_from(
    [None, True, False, 0, 1.5, "x", b"", b"\x00", [], ["a"], ("a",), {}, {"a": "b"}, {"a": None}, object()]
)

_BY_TYPE = {
    "str": _strings,
    "int": _ints,
    "float": _floats,
    "bool": st.booleans(),
    "object": _scalars,
    "None": st.none(),
    "bytes": st.binary(max_size=6),
    "Mapping": _dicts,
    "dict": _dicts,
    "list": _lists,
    "tuple": _lists.map(tuple),
    "Sequence": _lists,
}


@functools.cache
def _strategy(annotation: str) -> st.SearchStrategy[Any]:
    """Values of the annotated types (``"str | int"``), and of any other type."""
    parts = annotation.split("|")
    known = [_BY_TYPE[p.strip().split("[")[0]] for p in parts if p.strip().split("[")[0] in _BY_TYPE]
    return st.one_of(*known, _odd)


_SKIP = object()


@functools.cache
def _calls(fn: Callable[..., object]) -> st.SearchStrategy[tuple[list[object], dict[str, object]]]:
    """Arguments for ``fn``: every required parameter, each optional one half of the time."""
    args: st.SearchStrategy[list[object]] = st.just([])
    kwargs: dict[str, st.SearchStrategy[object]] = {}
    for param in inspect.signature(fn).parameters.values():
        values = _strategy(str(param.annotation))
        if param.kind is param.VAR_POSITIONAL:
            args = st.lists(values, max_size=2)
        elif param.default is param.empty:
            kwargs[param.name] = values
        elif param.kind is not param.VAR_KEYWORD:
            kwargs[param.name] = st.one_of(st.just(_SKIP), values)
    return st.tuples(args, st.fixed_dictionaries(kwargs)).map(
        lambda call: (call[0], {k: v for k, v in call[1].items() if v is not _SKIP})
    )


def _makes_option(fn: object) -> bool:
    """A helper that builds an option (accessors take a running container; they are not input boundaries here)."""
    return callable(fn) and not inspect.isclass(fn) and str(inspect.signature(fn).return_annotation) == "Option"


def _targets() -> Iterator[tuple[str, Callable[..., object]]]:
    """Every public ``with_*`` option, and every option-building helper of every service module."""
    for name in sorted(n for n in dir(testctr) if n.startswith("with_")):
        yield f"testctr.{name}", getattr(testctr, name)
    for module_name in MODULE_NAMES:
        module = importlib.import_module(f"testctr.modules.{module_name}")
        for name in module.__all__:
            value = getattr(module, name)
            if _makes_option(value):
                yield f"{module_name}.{name}", value


OPTION_TARGETS = dict(_targets())
PARSER_TARGETS = {name: getattr(parsing, name) for name in dir(parsing) if name.startswith("parse_")}


@pytest.fixture(scope="module", autouse=True)
def no_backend_is_resolved() -> Iterator[None]:
    def resolve(name: str, runtime: str | None = None) -> object:
        raise AssertionError(f"validation resolved backend {name!r}: an engine call was on its way")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backends.default_registry, "lookup", resolve)
        yield


def _strings_in(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        return
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings_in(k)
            yield from _strings_in(v)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings_in(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name != "backend_config":  # opaque here: the backend that reads it validates it
                yield from _strings_in(getattr(value, f.name))


def _assert_clean(spec: Spec) -> None:
    """What validation let through is something every engine takes."""
    config = spec.config
    assert not any("\x00" in text for text in _strings_in(config)), config
    assert not any("=" in key for key in [*config.labels, *config.env]), config
    if config.cpus is not None:
        assert parsing.MIN_CPUS <= config.cpus <= parsing.MAX_CPUS
    if config.memory_bytes is not None:
        assert parsing.MIN_MEMORY <= config.memory_bytes <= parsing.MAX_MEMORY
    for seconds in [spec.startup_timeout, spec.startup_delay, *(getattr(w, "timeout", None) for w in spec.waits)]:
        assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= parsing.MAX_SECONDS)


def _call(fn: Callable[..., object], args: list[object], kwargs: dict[str, object]) -> object:
    start = time.monotonic()
    try:
        return fn(*args, **kwargs)
    except TestctrError:
        return None
    finally:
        assert time.monotonic() - start < SLOW


@pytest.mark.parametrize("name", sorted(OPTION_TARGETS))
@settings(database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_options_reject_bad_values_with_invalid_option(name: str, data: st.DataObject) -> None:
    fn = OPTION_TARGETS[name]
    args, kwargs = data.draw(_calls(fn))
    option = _call(fn, args, kwargs)
    if option is None:
        return
    assert isinstance(option, Option)
    try:
        spec = build_spec([option])
    except TestctrError:  # an order rule (e.g. with_data_on_disk before default) is checked on apply
        return
    _assert_clean(spec)


@pytest.mark.parametrize("name", sorted(PARSER_TARGETS))
@settings(database=None)
@given(data=st.data())
def test_parsers_raise_only_invalid_option(name: str, data: st.DataObject) -> None:
    fn = PARSER_TARGETS[name]
    first = next(iter(inspect.signature(fn).parameters.values()))
    _call(fn, [data.draw(_strategy(str(first.annotation)))], {})


@pytest.mark.parametrize("field", sorted(PARSERS))
@settings(database=None)
@given(text=_strings)
def test_settings_are_checked_and_name_their_variable(field: str, text: str) -> None:
    variable = f"TESTCTR_{field.upper()}"
    try:
        s = Settings.from_env({variable: text})
    except testctr.InvalidOption as e:
        assert str(e).startswith(f"{variable}="), e
        return
    assert "\x00" not in "".join(_strings_in(s))
    assert 0 < s.startup_timeout <= parsing.MAX_SECONDS
    assert 0 <= s.create_delay <= parsing.MAX_SECONDS and 0 <= s.cleanup_age <= parsing.MAX_SECONDS
    assert 1 <= s.max_concurrent <= parsing.MAX_COUNT


class _EngineCalled(Exception):
    """The fake backend was reached: validation let the arguments through."""


class _Backend:
    """Answers every method by raising _EngineCalled with the arguments it would have sent."""

    runtime = "fake"

    def __getattr__(self, name: str) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            raise _EngineCalled(name, args, kwargs)

        return call


_CONTAINER = Container(_Backend(), "fake", "id", "name", "image", Spec(ContainerConfig(name="name")))  # type: ignore[arg-type]
CONTAINER_TARGETS = {
    name: getattr(_CONTAINER, name) for name in ["exec", "stop", "copy_to", "copy_from", "update_resources", "commit"]
}


@pytest.mark.parametrize("name", sorted(CONTAINER_TARGETS))
@settings(database=None)
@given(data=st.data())
def test_container_methods_check_before_the_engine(name: str, data: st.DataObject) -> None:
    fn = CONTAINER_TARGETS[name]
    args, kwargs = data.draw(_calls(fn))
    try:
        _call(fn, args, kwargs)
    except _EngineCalled as e:
        sent = e.args[1:]
        assert not any("\x00" in text for text in _strings_in(sent)), sent
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in [*sent[0], *sent[1].values()]), sent


@settings(database=None)
@given(image=_strings)
def test_a_bad_image_fails_before_any_backend_is_resolved(image: str) -> None:
    try:
        parsing.parse_image(image)
    except testctr.InvalidOption:
        with pytest.raises(testctr.InvalidOption, match="image"), testctr.run(image):
            pass


def test_targets_are_enumerated() -> None:
    """The counts in the report; a target that vanished from enumeration would silently go unchecked."""
    assert len(OPTION_TARGETS) >= 70 and len(PARSER_TARGETS) >= 12
    assert set(PARSERS) == {field.name for field in dataclasses.fields(Settings)}
