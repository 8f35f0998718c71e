"""remote::s3: the Files API with file bytes in an S3 bucket, metadata in the SQL store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.files.s3.config import S3FilesConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.files.s3.impl import S3Files


async def create(config: S3FilesConfig, deps: ProviderDeps) -> S3Files:
    """The provider; it reaches the bucket on first use, so a stack builds while S3 is down."""
    from llama_workbench.providers.remote.files.s3.impl import S3Files

    return S3Files(config, deps)
