"""The Benchmarks API: a dataset and the scoring functions that grade answers to it."""
