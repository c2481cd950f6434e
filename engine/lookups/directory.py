"""Every lookup of the served specs, by name, with the adapters that answer them.

Each spec gets one pool of finders per adapter its lookups use (a finder serves every object);
lookup names are unique across the specs served, since they are the endpoint's path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pluggy

from fieldline.contracts import AdapterKind
from fieldline.errors import ConfigError
from fieldline.lookups.answering import LookupRunner
from fieldline.lookups.finder import FinderPool, RecordFinder
from fieldline.lookups.log_privacy import install_log_filters
from fieldline.lookups.stats import CallStats
from fieldline.spec.lookups import LookupSpec
from fieldline.spec.model import AdapterSpec, Spec

__all__ = ["LookupDirectory", "build_directory"]


class LookupDirectory:
    """Runners by lookup name, and call statistics per spec."""

    def __init__(
        self,
        runners: Mapping[str, LookupRunner],
        spec_stats: Mapping[str, CallStats],
        pools: Sequence[FinderPool],
    ) -> None:
        self.runners = dict(runners)
        self.spec_stats = dict(spec_stats)
        self._pools = list(pools)

    def __bool__(self) -> bool:
        return bool(self.runners)

    def status_json(self) -> dict[str, Any]:
        """``{"lookups": {name: stats}, "specs": {name: stats}}`` for ``GET /status``."""
        return {
            "lookups": {
                name: {"spec": runner.spec_name, "object": runner.lookup.object, **runner.stats.as_json()}
                for name, runner in sorted(self.runners.items())
            },
            "specs": {name: stats.as_json() for name, stats in sorted(self.spec_stats.items())},
        }

    def close(self) -> None:
        for pool in self._pools:
            pool.close()


def _finder_factory(
    spec: Spec, lookup: LookupSpec, manager: pluggy.PluginManager
) -> Callable[[], RecordFinder]:
    from fieldline.plugins.manager import adapter_registry
    from fieldline.sync.adapter_builder import build_adapter

    options: dict[str, Any] = {"object": lookup.object}
    info = adapter_registry(manager).get((lookup.adapter, AdapterKind.SOURCE))
    if info is not None and "max_retries" in (info.options_schema.get("properties") or {}):
        # No retries in place: a page load is waiting, so a failing source is a 503 now.
        options["max_retries"] = 0
    adapter = AdapterSpec(adapter=lookup.adapter, options=options, location=lookup.location)

    def make() -> RecordFinder:
        built = build_adapter(adapter, AdapterKind.SOURCE, manager, spec=spec)
        if not isinstance(built, RecordFinder):
            close = getattr(built, "close", None)
            if callable(close):
                close()
            raise ConfigError(
                f"{lookup.location}: the source adapter {lookup.adapter!r} cannot answer lookups",
                hint="use an adapter that finds records by an index field, such as salesforce",
            )
        check_ready = getattr(built, "check_ready", None)
        if callable(check_ready):
            check_ready()
        return built

    return make


def build_directory(
    specs: Sequence[Spec],
    manager: pluggy.PluginManager,
    *,
    pool_size: int = 4,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> LookupDirectory:
    """Runners for every lookup of ``specs``. One finder per pool is built (and checked, no
    network call) now, so missing credentials stop ``serve`` at start rather than at the first call."""
    from fieldline.plugins.manager import normalizer_registry

    install_log_filters()
    normalizers = normalizer_registry(manager)
    runners: dict[str, LookupRunner] = {}
    spec_stats: dict[str, CallStats] = {}
    pools: list[FinderPool] = []
    try:
        for spec in specs:
            if not spec.lookups:
                continue
            stats = spec_stats.setdefault(spec.name, CallStats(clock=wall))
            by_adapter: dict[str, FinderPool] = {}
            for name, lookup in spec.lookups.items():
                if name in runners:
                    raise ConfigError(
                        f"{lookup.location}: the lookup {name!r} is also declared by spec "
                        f"{runners[name].spec_name!r}",
                        hint="lookup names are the endpoint's path (/lookup/NAME): rename one",
                    )
                pool = by_adapter.get(lookup.adapter)
                if pool is None:
                    pool = by_adapter[lookup.adapter] = FinderPool(
                        _finder_factory(spec, lookup, manager), size=pool_size
                    )
                    pools.append(pool)
                    with pool.borrow():
                        pass  # build and check the first finder now
                runner = LookupRunner(
                    lookup, pool, normalizers=normalizers, clock=clock, wall=wall, spec_stats=stats
                )
                runner.spec_name = spec.name
                runners[name] = runner
    except BaseException:
        for pool in pools:
            pool.close()
        raise
    return LookupDirectory(runners, spec_stats, pools)
