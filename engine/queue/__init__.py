"""Durable job queues: the JobQueue contract and the embedded SQLite backend."""
