"""Run every benchmark module, print ``NAME VALUE`` lines, write ``.bench/results.json``.

``python -m benchmarks [NAME ...]`` runs only the named modules (``bench_plan`` or ``plan``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import benchmarks


def main(argv: list[str]) -> int:
    wanted = {name if name.startswith("bench_") else f"bench_{name}" for name in argv}
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if info.name.startswith("bench_") and (not wanted or info.name in wanted)
    )
    results: dict[str, float] = {}
    for name in modules:
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        figures = module.run()
        for key, value in figures.items():
            print(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}", flush=True)
        results.update(figures)
        print(f"# {name} took {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    out = Path(".bench")
    out.mkdir(exist_ok=True)
    previous: dict[str, float] = {}
    results_file = out / "results.json"
    if results_file.exists() and wanted:
        previous = json.loads(results_file.read_text())
    results_file.write_text(json.dumps({**previous, **results}, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
