"""Salesforce target adapter (simple-salesforce)."""
