"""The Eval API: run a candidate (a model or an agent) over a benchmark, as a job or row by row."""
