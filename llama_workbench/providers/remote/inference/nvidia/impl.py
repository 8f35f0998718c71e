"""remote::nvidia's adapter: the hosted API needs a key (a NIM of your own does not), and each
rerank model may have its own ranking endpoint."""

from __future__ import annotations

from llama_workbench.providers.remote.inference.nvidia.config import NVIDIAConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


class NVIDIAAdapter(OpenAICompatAdapter):
    config: NVIDIAConfig

    def _needs_key(self) -> bool:
        return self.config.hosted

    def _rerank_url(self, model: str) -> str:
        return (self.config.rerank_model_to_url or {}).get(model, self.config.rerank_path)
