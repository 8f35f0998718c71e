"""Datasets, scoring, eval, batches, fine-tuning and the Responses API."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderSpec

_P = "llama_workbench.providers"


def job_specs() -> list[ProviderSpec]:
    """Datasets, scoring, eval, batches, post-training, responses."""
    return [
        ProviderSpec(
            api=Api.datasetio,
            provider_type="inline::localfs",
            module=f"{_P}.inline.datasetio.localfs",
            config_class=f"{_P}.inline.datasetio.localfs.config:LocalfsDatasetIOConfig",
            description="Datasets from local files (CSV, JSONL, Parquet, saved datasets), "
            "DataFrames and inline rows; appended rows persist.",
            pip_packages=("pandas", "pyarrow", "datasets"),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.datasetio,
            provider_type="remote::huggingface",
            module=f"{_P}.remote.datasetio.huggingface",
            config_class=f"{_P}.remote.datasetio.huggingface.config:HuggingfaceDatasetIOConfig",
            description="Datasets through the `datasets` library (a hub id, a local path or cache).",
            pip_packages=("datasets",),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.scoring,
            provider_type="inline::basic",
            module=f"{_P}.inline.scoring.basic",
            config_class=f"{_P}.inline.scoring.basic.config:BasicScoringConfig",
            description="Exact match, subset, multiple-choice and math answer parsers, "
            "and Python functions registered from the notebook.",
            optional_api_dependencies=(Api.datasetio,),
        ),
        ProviderSpec(
            api=Api.scoring,
            provider_type="inline::llm-as-judge",
            module=f"{_P}.inline.scoring.llm_as_judge",
            config_class=f"{_P}.inline.scoring.llm_as_judge.config:LlmAsJudgeScoringConfig",
            description="A judge model, a prompt template and regexes that read its score.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.datasetio,),
        ),
        ProviderSpec(
            api=Api.scoring,
            provider_type="inline::braintrust",
            module=f"{_P}.inline.scoring.braintrust",
            config_class=f"{_P}.inline.scoring.braintrust.config:BraintrustScoringConfig",
            description="autoevals scorers (factuality, answer correctness, ...) run with the "
            "stack's own models.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.datasetio,),
            pip_packages=("autoevals",),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.eval,
            provider_type="inline::builtin",
            module=f"{_P}.inline.eval.builtin",
            config_class=f"{_P}.inline.eval.builtin.config:BuiltinEvalConfig",
            description="Benchmarks run as background jobs (resumable), tracked in MLflow.",
            api_dependencies=(Api.inference, Api.datasetio, Api.scoring),
            optional_api_dependencies=(Api.responses, Api.models),
            pip_packages=("pandas", "mlflow"),
            pip_extra="eval",
        ),
        ProviderSpec(
            api=Api.batches,
            provider_type="inline::reference",
            module=f"{_P}.inline.batches.reference",
            config_class=f"{_P}.inline.batches.reference.config:ReferenceBatchesConfig",
            description="OpenAI's Batches API: a JSONL file of requests run in the background "
            "(bounded concurrency, resumable), results in output and error files.",
            api_dependencies=(Api.inference, Api.files, Api.models),
            optional_api_dependencies=(Api.responses,),
        ),
        ProviderSpec(
            api=Api.post_training,
            provider_type="inline::huggingface",
            module=f"{_P}.inline.post_training.huggingface",
            config_class=f"{_P}.inline.post_training.huggingface.config:HuggingfacePostTrainingConfig",
            description="Supervised fine-tuning (LoRA or full) and DPO of inline transformers "
            "models on the CPU; results served at once, tracked in MLflow.",
            api_dependencies=(Api.inference, Api.datasetio),
            optional_api_dependencies=(Api.models,),
            pip_packages=("peft", "trl", "mlflow"),
            pip_extra="finetune",
        ),
        ProviderSpec(
            api=Api.responses,
            provider_type="inline::builtin",
            module=f"{_P}.inline.responses.builtin",
            config_class=f"{_P}.inline.responses.builtin.config:BuiltinResponsesConfig",
            description=(
                "The Responses and Conversations APIs in-process: the tool loop (file_search, "
                "MCP, functions), guardrails, chaining and storage."
            ),
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(
                Api.models,
                Api.safety,
                Api.shields,
                Api.vector_io,
                Api.tool_runtime,
                Api.prompts,
                Api.connectors,
            ),
        ),
    ]
