"""The webhook service: receiver, workers, status."""
