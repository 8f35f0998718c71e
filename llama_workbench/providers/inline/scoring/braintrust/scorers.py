"""The autoevals scorers inline::braintrust offers: what each reads from a row and which models it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llama_workbench.providers.utils.scoring import CONTEXT, EXPECTED, GENERATED, INPUT_QUERY

if TYPE_CHECKING:
    from types import ModuleType

    from llama_workbench.providers.inline.scoring.braintrust.client import StackLLMClient

JUDGE, EMBED = "judge", "embeddings"
# (client, judge model, embedding model) -> an autoevals scorer
Build = Callable[["StackLLMClient", str | None, str | None], Any]


def _ae() -> ModuleType:
    """autoevals, imported when a scorer is first built: its import costs over a second
    (jsonschema builds a grammar at import), so building the stack must not pay it."""
    import autoevals

    return autoevals


@dataclass(frozen=True)
class Scorer:
    resource: str
    description: str
    columns: tuple[str, ...]
    uses: tuple[str, ...]
    build: Build
    numbers: bool = False  # compare as numbers ("12" is 12)
    packages: tuple[str, ...] = ()  # imported by autoevals only when the scorer runs


def _correctness(client: StackLLMClient, judge: str | None, embed: str | None) -> Any:
    # Without an embedding model, correctness is the statement F1 alone.
    weight = 0.25 if embed else 0.0
    return _ae().AnswerCorrectness(
        model=judge, embedding_model=embed, answer_similarity_weight=weight, client=client
    )


def _entity_recall(client: StackLLMClient, judge: str | None, embed: str | None) -> Any:
    pairs = _ae().EmbeddingSimilarity(model=embed, client=client)
    return _ae().ContextEntityRecall(pairwise_scorer=pairs, model=judge, client=client)


QA, QAC = (INPUT_QUERY, EXPECTED, GENERATED), (INPUT_QUERY, GENERATED, CONTEXT)
SCORERS = (
    Scorer(
        "factuality",
        "Test output factuality against expected value using Braintrust LLM scorer.",
        QA,
        (JUDGE,),
        lambda c, j, e: _ae().Factuality(model=j, client=c),
    ),
    Scorer(
        "answer-correctness",
        "Scores the correctness of the answer based on the ground truth (statement F1, "
        "blended with embedding similarity when an embedding model is configured).",
        QA,
        (JUDGE,),
        _correctness,
    ),
    Scorer(
        "answer-similarity",
        "Scores the semantic similarity of the answer to the ground truth (embeddings).",
        (EXPECTED, GENERATED),
        (EMBED,),
        lambda c, j, e: _ae().AnswerSimilarity(model=e, client=c),
    ),
    Scorer(
        "answer-relevancy",
        "Scores how relevant the answer is to the question, from questions the judge "
        "generates back from the answer (embeddings).",
        QAC,
        (JUDGE, EMBED),
        lambda c, j, e: _ae().AnswerRelevancy(model=j, embedding_model=e, client=c),
    ),
    Scorer(
        "faithfulness",
        "Scores how faithful the answer's statements are to the context.",
        QAC,
        (JUDGE,),
        lambda c, j, e: _ae().Faithfulness(model=j, client=c),
    ),
    Scorer(
        "context-entity-recall",
        "Scores how many entities of the ground truth the context holds (embeddings).",
        (EXPECTED, CONTEXT),
        (JUDGE, EMBED),
        _entity_recall,
        packages=("scipy",),  # autoevals' ListContains pairs entities with scipy
    ),
    Scorer(
        "context-precision",
        "Scores whether the context was useful in arriving at the ground truth.",
        (INPUT_QUERY, EXPECTED, CONTEXT),
        (JUDGE,),
        lambda c, j, e: _ae().ContextPrecision(model=j, client=c),
    ),
    Scorer(
        "context-recall",
        "Scores how much of the ground truth the context supports.",
        (INPUT_QUERY, EXPECTED, CONTEXT),
        (JUDGE,),
        lambda c, j, e: _ae().ContextRecall(model=j, client=c),
    ),
    Scorer(
        "context-relevancy",
        "Scores how much of the context is relevant to the question.",
        (INPUT_QUERY, CONTEXT),
        (JUDGE,),
        lambda c, j, e: _ae().ContextRelevancy(model=j, client=c),
    ),
    Scorer(
        "levenshtein",
        "1 minus the edit distance between answer and ground truth, over the longer length.",
        (EXPECTED, GENERATED),
        (),
        lambda c, j, e: _ae().Levenshtein(),
    ),
    Scorer(
        "exact-match",
        "1 if answer and ground truth are equal (JSON compared as JSON), else 0.",
        (EXPECTED, GENERATED),
        (),
        lambda c, j, e: _ae().ExactMatch(),
    ),
    Scorer(
        "numeric-diff",
        "1 minus the relative difference of two numbers.",
        (EXPECTED, GENERATED),
        (),
        lambda c, j, e: _ae().NumericDiff(),
        numbers=True,
    ),
    Scorer(
        "json-diff",
        "Similarity of two JSON values, key by key (strings by edit distance).",
        (EXPECTED, GENERATED),
        (),
        lambda c, j, e: _ae().JSONDiff(),
    ),
)
