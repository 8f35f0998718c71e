"""Stop sequences over streamed text: emit what is safe, hold back what may start a stop."""

from __future__ import annotations


class StopSequenceBuffer:
    """Feed the full text generated so far; get back the new text that is safe to emit.

    Text that could be the start of a stop sequence is held back until it is decided; when a stop
    sequence appears, the text is cut just before it and `stopped` turns true.
    """

    def __init__(self, stops: list[str]) -> None:
        self._stops = [s for s in stops if s]
        self._emitted = 0
        self.stopped = False
        self.text = ""  # everything emitted so far

    def feed(self, text: str) -> str:
        """The part of `text` (the whole output so far) that is new and safe to emit."""
        if self.stopped:
            return ""
        cut = self._first_stop(text)
        if cut is not None:
            self.stopped = True
            return self._advance(text[:cut])
        return self._advance(text[: len(text) - self._held_back(text)])

    def flush(self, text: str) -> str:
        """At the end of generation: everything not yet emitted (minus a stop, if one appeared)."""
        delta = self.feed(text)
        if self.stopped:
            return delta
        return delta + self._advance(text)

    def _advance(self, upto: str) -> str:
        if len(upto) <= self._emitted:
            return ""
        delta = upto[self._emitted :]
        self._emitted = len(upto)
        self.text = upto
        return delta

    def _first_stop(self, text: str) -> int | None:
        # Emitted text never ends in the start of a stop, so a stop can only begin after it.
        hits = [i for i in (text.find(s, self._emitted) for s in self._stops) if i >= 0]
        return min(hits) if hits else None

    def _held_back(self, text: str) -> int:
        """Length of the longest tail of `text` that is a proper prefix of some stop sequence."""
        longest = 0
        for stop in self._stops:
            for k in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:k]):
                    longest = k
                    break
        return longest
