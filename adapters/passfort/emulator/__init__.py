"""A PassFort API v4 + webhook delivery emulator (Starlette)."""
