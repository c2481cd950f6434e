"""Conformance suites plugin authors run against their adapters and queue backends."""
