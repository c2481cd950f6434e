"""PassFort source adapter (httpx), webhook parsing, and an API + webhook emulator."""

from fieldline.adapters.passfort.settings import DEFAULT_BASE_URL, PassFortSettings, load_settings

__all__ = ["DEFAULT_BASE_URL", "PassFortSettings", "load_settings"]
