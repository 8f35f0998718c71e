"""The Scoring API: score rows, or a dataset's rows, with registered scoring functions."""
