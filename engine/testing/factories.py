"""Assemble small test templates into a pytest class (the Meltano SDK's pattern).

Every suite is a tuple of templates, each a class with a ``name`` and a ``run(subject,
config)``. A suite's factory takes its config's fields as keyword arguments; :func:`suite_config`
builds the config from them, and :func:`build_test_class` turns the templates into
``test_<name>`` methods sharing a fixture that builds a fresh subject per test and closes it
afterwards. The factories plugin authors call are importable from ``fieldline.testing``:

- :func:`~fieldline.testing.target_suite.get_target_test_class`
- :func:`~fieldline.testing.source_suite.get_source_test_class`
- :func:`~fieldline.testing.webhook_suite.get_webhook_source_test_class`
- :func:`~fieldline.testing.queue_suite.get_queue_test_class`
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

__all__ = ["Template", "build_test_class", "call_maker", "suite_config", "takes_request"]

_Config = TypeVar("_Config")


class Template(Protocol):
    """One standard test: ``name`` becomes ``test_<name>``; ``run`` fails with AssertionError."""

    name: ClassVar[str]

    def run(self, subject: Any, config: Any) -> None: ...


def takes_request(make: Callable[..., Any]) -> bool:
    """Whether ``make`` wants pytest's ``request``: it has a parameter without a default (a
    class whose arguments all have defaults is called with none)."""
    return any(
        parameter.default is inspect.Parameter.empty
        and parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for parameter in inspect.signature(make).parameters.values()
    )


def call_maker(make: Callable[..., Any], request: Any) -> Any:
    """``make(request)`` when it takes one argument, else ``make()``: a maker with a parameter
    can use fixtures (``request.getfixturevalue("tmp_path")``)."""
    return make(request) if takes_request(make) else make()


def suite_config(config_type: type[_Config], arguments: Mapping[str, Any]) -> _Config:
    """The ``config_type`` dataclass of a factory's ``arguments`` (its ``locals()``): each one
    that names a field fills it, and ``None`` leaves the field at its default. The factory's
    signature stays explicit for its callers; the config is filled in one place."""
    fields = {field.name for field in dataclasses.fields(config_type)}  # type: ignore[arg-type]
    given = {name: value for name, value in arguments.items() if name in fields and value is not None}
    return config_type(**given)


def build_test_class(
    *,
    class_name: str,
    config: Any,
    make: Callable[..., Any],
    templates: Sequence[type[Template]],
    close: Callable[[Any], None] = lambda subject: subject.close(),
) -> type:
    """A class with one ``test_<name>`` per template, each given a fresh ``subject``."""
    import pytest

    @pytest.fixture
    def subject(self: Any, request: pytest.FixtureRequest) -> Any:
        built = call_maker(make, request)
        try:
            yield built
        finally:
            close(built)

    namespace: dict[str, Any] = {"conformance_config": config, "subject": subject}
    for template in templates:
        namespace[f"test_{template.name}"] = _test_method(template)
    return type(class_name, (), namespace)


def _test_method(template: type[Template]) -> Callable[[Any, Any], None]:
    def test(self: Any, subject: Any) -> None:
        template().run(subject, self.conformance_config)

    test.__name__ = f"test_{template.name}"
    test.__doc__ = (template.__doc__ or "").strip() or f"Conformance: {template.name.replace('_', ' ')}."
    return test
