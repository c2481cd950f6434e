"""Conformance suites and in-memory doubles for plugin authors (also a pytest plugin).

Each suite is small test templates assembled by a factory into a pytest class:
:func:`get_target_test_class`, :func:`get_source_test_class`,
:func:`get_webhook_source_test_class`, :func:`get_queue_test_class`. Installing
``fieldline[testing]`` registers :mod:`fieldline.testing.pytest_plugin` (fixtures
``fieldline_plugin_manager``, ``free_port``, ``memory_target``). Names load on first use, so
the plugin costs a test run nothing it does not ask for.
"""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
