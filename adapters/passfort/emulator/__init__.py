"""A PassFort API v4 + webhook delivery emulator (Starlette), for tests, demos and benchmarks."""

from fieldline.adapters.passfort.emulator.handle import (
    SEED_FILE,
    PassFortEmulator,
    running_passfort_emulator,
)

__all__ = ["SEED_FILE", "PassFortEmulator", "running_passfort_emulator"]
