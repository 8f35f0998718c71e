"""inline::pypdf: files into chunks, in-process (PDF through pypdf, other documents through the
stack's own parsers: text, Markdown, HTML, DOCX, CSV, JSON/JSONL, code)."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.providers.inline.file_processors.pypdf.config import PyPDFProcessorConfig
from llama_workbench.providers.inline.file_processors.pypdf.impl import PyPDFFileProcessor

__all__ = ["PyPDFFileProcessor", "PyPDFProcessorConfig", "create"]


async def create(config: PyPDFProcessorConfig, deps: ProviderDeps) -> PyPDFFileProcessor:
    return PyPDFFileProcessor(config, deps.apis.get(Api.files))
