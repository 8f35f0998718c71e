"""Tracking: MLflow runs for eval and fine-tuning jobs."""
