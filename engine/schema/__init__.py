"""The mapping spec JSON Schema, shipped as package data."""
