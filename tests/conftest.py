"""Suite-wide setup: offline model loading, and a private data home per test session."""

from __future__ import annotations

import os

# The bundled models load from site-packages; a hub lookup must never happen in tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
