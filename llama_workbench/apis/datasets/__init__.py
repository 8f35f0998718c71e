"""The Datasets API: the registry of datasets (rows for eval, scoring and post-training)."""
