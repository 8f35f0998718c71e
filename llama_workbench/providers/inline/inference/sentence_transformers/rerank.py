"""Rerank models of inline::sentence-transformers: a CrossEncoder from a local folder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from llama_workbench.providers.utils.quiet import quiet_loading


class CrossEncoderModel:
    """One cross-encoder: its folder, and the weights once loaded (a lock makes it load once)."""

    def __init__(self, path: Path, trust_remote_code: bool) -> None:
        self.path = path
        self._trust_remote_code = trust_remote_code
        self._lock = threading.Lock()
        self._predict_lock = threading.Lock()
        self._model: Any = None
        self.loads = 0

    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                with quiet_loading():
                    self._model = CrossEncoder(
                        str(self.path),
                        device="cpu",
                        trust_remote_code=self._trust_remote_code,
                        local_files_only=True,
                    )
                self.loads += 1
            return self._model

    def scores(self, query: str, items: list[str], batch_size: int) -> list[float]:
        """The relevance of each item to the query (the model's activated output)."""
        model = self.model()
        # One predict at a time, as for embeddings: the fast tokenizer's state is shared.
        with self._predict_lock:
            scores = model.predict(
                [(query, item) for item in items],
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [float(s) for s in scores.reshape(len(items), -1)[:, -1]]

    def unload(self) -> None:
        with self._lock:
            self._model = None
