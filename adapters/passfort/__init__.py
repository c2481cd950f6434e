"""PassFort source adapter (httpx) and webhook parsing."""
