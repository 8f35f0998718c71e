"""The loop guard of inline::transformers on crafted token streams (no model needed)."""

from __future__ import annotations

import asyncio

from llama_workbench.apis.inference.models import ChatCompletionRequest
from llama_workbench.providers.inline.inference.transformers.jobs import (
    Event,
    Job,
    RowState,
    Sampling,
    Sink,
)
from llama_workbench.providers.inline.inference.transformers.loop_guard import LoopGuard
from llama_workbench.providers.inline.inference.transformers.responses import (
    LOOP_NOTE,
    Plan,
    chat_completion_from,
    collect,
    completion_stream,
)

TEXT = "<eos> the telescope saw first light on a cold night in May 1960 . and then it"
WORDS = TEXT.split(" ")
EOS = 0
SENTENCE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]  # "the telescope ... 1960 ."


def decode(tokens: list[int]) -> str:
    return "".join(("" if WORDS[t] == "." else " ") + WORDS[t] for t in tokens).lstrip()


def feed(guard: LoopGuard, stream: list[int]) -> int | None:
    """The number of tokens after which the guard reports a loop (None: never)."""
    for i in range(1, len(stream) + 1):
        if guard.looping(stream[:i], decode(stream[:i])):
            return i
    return None


SHORT = [2, 3, 4, 5, 13]  # "telescope saw first light.": four words, not prose


def test_a_prose_sentence_said_again_is_a_loop_at_its_second_copy() -> None:
    stream = SENTENCE * 5
    guard = LoopGuard(3)
    # A sentence is complete once the space after its full stop comes (the next token).
    assert feed(guard, stream) == 2 * len(SENTENCE) + 1
    assert guard.cut == len(decode(SENTENCE))  # the output ends where the second copy began
    assert feed(LoopGuard(0), stream) is None  # off


def test_a_short_sentence_repeated_three_times_is_a_loop_at_its_third_copy() -> None:
    stream = SHORT * 5  # "telescope saw first light." five times
    guard = LoopGuard(3)
    assert feed(guard, stream) == 3 * len(SHORT) + 1
    assert guard.cut is None  # what was shown stays: it was not held back
    assert feed(LoopGuard(2), stream) == 2 * len(SHORT) + 1


def test_the_start_of_a_possible_repeat_is_held_back_until_decided() -> None:
    guard = LoopGuard(3)
    said = [*SENTENCE, 1, 2, 3]  # the sentence, then "the telescope saw" again
    text = decode(said)
    assert not guard.looping(said, text)
    assert text[len(text) - guard.held(text) :] == " the telescope saw"
    diverged = [*said, 16]  # "... the telescope saw it": not a repeat after all
    assert guard.held(decode(diverged)) == 0


def test_a_repeated_block_without_sentence_ends_is_a_loop() -> None:
    block = [14, 15, 16, 1, 2, 3, 4]  # "and then it the telescope saw first": no terminator
    stream = [5, 6, *block * 4]
    assert feed(LoopGuard(3), stream) == 2 + 3 * len(block)
    tight = [2] * 40  # the same token: caught once a 6-token block has repeated 3 times
    assert feed(LoopGuard(3), tight) == 18


def test_text_that_does_not_repeat_itself_is_not_a_loop() -> None:
    varied = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1, 2, 3, 4, 13]
    assert feed(LoopGuard(3), varied) is None
    short = [2, 3, 13] * 5  # "telescope saw." five times: two words, too short to count
    assert feed(LoopGuard(3), short) is None
    twice = [*SHORT, *SHORT, 14]  # a four-word sentence twice: under the three-copy rule
    assert feed(LoopGuard(3), twice) is None


async def test_a_looping_row_ends_with_stop_and_says_so() -> None:
    sink = Sink()
    job = Job(0, [1, 2], Sampling(), max_tokens=200, stops=[], sink=sink)
    counted: list[int] = []
    row = RowState(job, decode, {EOS}, lambda: counted.append(1), loop_repeats=3)
    stream = SENTENCE * 10
    for token in stream:
        row.step(token)
        if row.done:
            break
    assert row.done and row.generated == 2 * len(SENTENCE) + 1 == len(counted)
    await asyncio.sleep(0)  # the events cross over with call_soon_threadsafe
    events: list[Event] = []
    while not sink.queue.empty():
        events.append(sink.queue.get_nowait())
    # The second copy was held back as it was written and dropped: the sentence shows once.
    assert "".join(e.delta for e in events) == decode(SENTENCE)
    last = events[-1]
    assert (last.finish_reason, last.loop_guard, last.completion_tokens) == ("stop", True, 27)


class _ScriptedEngine:
    """Stands in for GenerationEngine: plays a fixed token stream into each submitted job."""

    def __init__(self, stream: list[int]) -> None:
        self.stream = stream

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            row = RowState(job, decode, {EOS}, lambda: None, loop_repeats=3)
            for token in self.stream:
                row.step(token)
                if row.done:
                    break
            row.finish("length")


def _plan(max_tokens: int = 100) -> Plan:
    return Plan("inline", [[1, 2]], 1, Sampling(), [max_tokens], [], [""])


async def test_responses_carry_the_loop_guard_in_the_choice_metadata() -> None:
    engine = _ScriptedEngine(SENTENCE * 10)
    request = ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "?"}])
    results = await collect(engine, _plan())  # type: ignore[arg-type]
    reply = chat_completion_from(results, _plan(), request, [])
    choice = reply.choices[0]
    assert choice.finish_reason == "stop" and choice.metadata == {"loop_guard": LOOP_NOTE}
    assert reply.usage is not None and reply.usage.completion_tokens == 27
    assert reply.choices[0].message.content == decode(SENTENCE)
    dumped = reply.model_dump(exclude_none=True)["choices"][0]
    assert dumped["metadata"] == {"loop_guard": LOOP_NOTE}
    stream = completion_stream(engine, _plan(), "m", include_usage=False)  # type: ignore[arg-type]
    parts = [p async for p in stream]
    assert parts[-1].choices[0].finish_reason == "stop"
    assert parts[-1].choices[0].metadata == {"loop_guard": LOOP_NOTE}
    # An answer that ends on its own carries no metadata at all.
    plain = await collect(_ScriptedEngine([*SENTENCE, EOS]), _plan())  # type: ignore[arg-type]
    assert chat_completion_from(plain, _plan(), request, []).choices[0].metadata is None
