"""A faithful Salesforce REST emulator (Starlette) for tests, demos and benchmarks."""
