"""`%llama eval`: run a benchmark with progress, get a DataFrame back, and find the MLflow run."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from llama_workbench.jupyter.display import Table
from llama_workbench.jupyter.host import first_model
from llama_workbench.jupyter.parsing import MagicParser, parse, positive_int, split
from llama_workbench.jupyter.parsing import temperature as temperature_type
from llama_workbench.jupyter.results import eval_results_frame

if TYPE_CHECKING:
    from llama_workbench.jupyter.host import MagicHost

ACTIONS = ("run", "register", "benchmarks", "jobs", "resume")
DESCRIPTION = (
    "Evaluation: `%llama eval <benchmark> --model M` runs a job (progress shown; Ctrl-C cancels "
    "it) and returns a DataFrame, one row per example; `benchmarks` lists them, `jobs "
    "[benchmark]` lists jobs, `resume <benchmark> <job_id>` continues a stopped job, `register "
    "<benchmark> --data <file|DataFrame variable> --scoring <fn>` makes one."
)


def eval_parser() -> MagicParser:
    p = MagicParser(
        prog="%llama eval",
        summary="Run a benchmark (progress, a DataFrame, the MLflow run); benchmarks, jobs, resume.",
        description=DESCRIPTION,
    )
    p.add_argument("words", nargs="*", help="[run] <benchmark> | benchmarks | jobs | resume ...")
    p.add_argument(
        "--model", "-m", help="run: the candidate model (default: the first chat model)."
    )
    p.add_argument("--system", "-s", help="run: a system message for every row.")
    p.add_argument("--num-examples", "-k", type=positive_int, help="run: only the first N rows.")
    p.add_argument("--max-tokens", "-n", type=positive_int, default=256, help="run: answer cap.")
    p.add_argument("--temperature", "-t", type=temperature_type, help="run: 0 (greedy) by default.")
    p.add_argument("--no-wait", action="store_true", help="run: start the job and return it.")
    p.add_argument(
        "--data", "-d", help="register: a CSV/JSONL/Parquet path, or a DataFrame or list variable."
    )
    p.add_argument(
        "--scoring", action="append", default=[], help="register: a scoring function (repeatable)."
    )
    p.add_argument(
        "--purpose",
        default="eval/question-answer",
        choices=["eval/question-answer", "eval/messages-answer"],
        help="register: what the rows hold.",
    )
    return p


def run_eval_magic(magic: MagicHost, line: str, cell: str | None) -> Any:
    parser = eval_parser()
    args = parse(parser, split(line, parser))
    words = list(args.words)
    action = words.pop(0) if words and words[0] in ACTIONS else "run"
    stack = magic.session.stack
    if action == "benchmarks":
        listed = [
            (b.identifier, b.dataset_id, ", ".join(b.scoring_functions))
            for b in stack.benchmarks.list()
        ]
        return Table("Benchmarks", ["benchmark", "dataset", "scoring functions"], listed)
    if action == "jobs":
        jobs = stack.eval.list_jobs(words[0] if words else None)
        rows = [
            (
                j.job_id,
                j.benchmark_id,
                j.status,
                f"{j.completed_rows}/{j.total_rows}",
                j.mlflow_run_id or "",
            )
            for j in jobs
        ]
        return Table("Eval jobs", ["job", "benchmark", "status", "rows", "mlflow run"], rows)
    if action == "register":
        if len(words) != 1 or not args.data or not args.scoring:
            raise UsageError(
                "%llama eval register: give <benchmark> --data <file|variable> --scoring <fn>"
            )
        return _register(magic, stack, words[0], args)
    if action == "resume":
        if len(words) != 2:
            raise UsageError("%llama eval resume: give <benchmark> <job_id> (%llama eval jobs)")
        job = stack.eval.job_resume(words[0], words[1])
        return _follow(magic, stack, words[0], job)
    if len(words) != 1:
        raise UsageError("%llama eval: give one benchmark id (%llama eval benchmarks lists them)")
    return _run(magic, stack, words[0], args)


def _register(magic: MagicHost, stack: Any, benchmark_id: str, args: Any) -> Any:
    from pathlib import Path

    value = magic.user_ns.get(args.data)
    if value is not None:
        source: dict[str, Any] = {"type": "rows", "rows": value}
    elif Path(args.data).expanduser().exists():
        source = {"type": "uri", "uri": str(Path(args.data).expanduser().resolve())}
    else:
        raise UsageError(f"%llama eval register: '{args.data}' is neither a file nor a variable")
    dataset = stack.datasets.register(
        purpose=args.purpose, source=source, dataset_id=f"{benchmark_id}-data"
    )
    benchmark = stack.benchmarks.register(
        benchmark_id=benchmark_id, dataset_id=dataset.identifier, scoring_functions=args.scoring
    )
    print(
        f"Benchmark '{benchmark.identifier}': dataset '{dataset.identifier}', scored by "
        f"{', '.join(benchmark.scoring_functions)}"
    )
    return None


def _run(magic: MagicHost, stack: Any, benchmark_id: str, args: Any) -> Any:
    strategy: dict[str, Any] = {"type": "greedy"}
    if args.temperature:
        strategy = {"type": "top_p", "temperature": args.temperature, "top_p": 0.95}
    candidate: dict[str, Any] = {
        "type": "model",
        "model": args.model or first_model(stack, "llm"),
        "sampling_params": {"strategy": strategy, "max_tokens": args.max_tokens},
    }
    if args.system:
        candidate["system_message"] = {"role": "system", "content": args.system}
    config = {"eval_candidate": candidate, "num_examples": args.num_examples}
    job = stack.eval.run_eval(benchmark_id, {k: v for k, v in config.items() if v is not None})
    if args.no_wait:
        print(f"Started {job.job_id}; %llama eval jobs {benchmark_id} shows its progress")
        return job
    return _follow(magic, stack, benchmark_id, job)


def _follow(magic: MagicHost, stack: Any, benchmark_id: str, job: Any) -> Any:
    """Progress until the job ends; Ctrl-C cancels it (the finished rows are kept)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=job.total_rows, desc=job.job_id, unit="row")
    try:
        while job.status in ("scheduled", "in_progress"):
            threading.Event().wait(0.2)
            job = stack.eval.job_status(benchmark_id, job.job_id)
            bar.update(job.completed_rows - bar.n)
    except KeyboardInterrupt:
        stack.eval.job_cancel(benchmark_id, job.job_id)
        raise UsageError(
            f"%llama eval: cancelled {job.job_id} ({job.completed_rows} rows kept); continue with "
            f"%llama eval resume {benchmark_id} {job.job_id}"
        ) from None
    finally:
        bar.close()
    if job.status != "completed":
        raise UsageError(
            f"%llama eval: job {job.job_id} {job.status}: {job.error or ''}".rstrip(": ")
        )
    frame = eval_results_frame(stack, benchmark_id, job.job_id)
    _summary(stack, benchmark_id, job)
    magic.result(frame)
    return frame


def _summary(stack: Any, benchmark_id: str, job: Any) -> None:
    from llama_workbench.tracking.mlflow_runs import flatten_metrics, ui_command

    result = stack.eval.job_result(benchmark_id, job.job_id)
    metrics = flatten_metrics({k: v.aggregated_results for k, v in result.scores.items()})
    print(", ".join(f"{k} = {v:.3f}" for k, v in metrics.items()))
    if job.mlflow_run_id:
        print(f"MLflow run {job.mlflow_run_id}: {ui_command(job.mlflow_tracking_uri)}")
