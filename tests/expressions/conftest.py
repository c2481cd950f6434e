"""Fixtures for the expression tests: the built-in function registry."""

from __future__ import annotations

import pluggy
import pytest

from fieldline.expressions.compiled import FunctionRegistry
from fieldline.plugins.manager import function_registry


@pytest.fixture
def registry(plugin_manager: pluggy.PluginManager) -> FunctionRegistry:
    """JMESPath's functions plus every built-in fieldline function."""
    return function_registry(plugin_manager)
