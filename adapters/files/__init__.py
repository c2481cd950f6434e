"""Files adapters: JSONL/CSV source, JSON/JSONL file-backed target (no network needed)."""
