"""Files in S3: the bytes are objects keyed by file id; metadata, access and expiry as localfs."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TypeVar

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    LlamaWorkbenchError,
    MissingDependencyError,
    ProviderError,
    ProviderUnavailableError,
    StorageError,
)
from llama_workbench.providers.inline.files.localfs.config import LocalfsFilesConfig
from llama_workbench.providers.inline.files.localfs.impl import LocalfsFiles
from llama_workbench.providers.remote.files.s3.config import S3FilesConfig
from llama_workbench.storage.kv import redact

T = TypeVar("T")
_MISSING_BUCKET = ("404", "NoSuchBucket", "NotFound")


def _boto3() -> tuple[Any, Any, Any]:
    """boto3, botocore's Config class and botocore's exceptions module."""
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError:
        raise MissingDependencyError("boto3", "s3", needed_by="remote::s3") from None
    return boto3, botocore.config.Config, botocore.exceptions


class S3Files(LocalfsFiles):
    """The Files API of inline::localfs with the bytes in a bucket (object key = file id)."""

    def __init__(self, config: S3FilesConfig, deps: ProviderDeps) -> None:
        local = LocalfsFilesConfig(
            metadata_store=config.metadata_store, max_file_size_bytes=config.max_file_size_bytes
        )
        super().__init__(local, deps)
        if importlib.util.find_spec("boto3") is None:  # imported on first use
            raise MissingDependencyError("boto3", "s3", needed_by="remote::s3")
        self._boto3: Any = None
        self._boto_config: Any = None
        self._botocore_errors: Any = None
        self._s3_config = config
        self._provider_id = deps.provider_id
        where = config.endpoint_url or f"AWS {config.region}"
        self._where = f"S3 bucket '{config.bucket_name}' ({where})"
        self._client: Any = None
        self._s3_lock = asyncio.Lock()

    async def initialize(self) -> None:
        return None  # nothing on local disk; the bucket is reached on first use

    async def shutdown(self) -> None:
        async with self._s3_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- the bytes, in the bucket

    def _path(self, file_id: str) -> PurePosixPath:  # type: ignore[override]
        """The object key (ids are checked as localfs checks them: ours only)."""
        return PurePosixPath(super()._path(file_id).name)

    async def _put_bytes(self, file_id: str, content: bytes) -> None:
        key = str(self._path(file_id))
        await self._call(
            "upload", lambda s3, bucket: s3.put_object(Bucket=bucket, Key=key, Body=content)
        )

    async def _get_bytes(self, file_id: str) -> bytes:
        key = str(self._path(file_id))

        def read(s3: Any, bucket: str) -> bytes | None:
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            except s3.exceptions.NoSuchKey:
                return None
            with body:
                return bytes(body.read())

        content = await self._call("download", read)
        if content is None:
            raise StorageError(
                f"File '{file_id}' is registered but its object is missing from {self._where}."
            )
        return content

    async def _remove_bytes(self, file_id: str) -> None:
        key = str(self._path(file_id))
        await self._call("delete", lambda s3, bucket: s3.delete_object(Bucket=bucket, Key=key))

    # -- the client, the bucket and errors

    def _secret(self) -> str | None:
        secret = self._s3_config.aws_secret_access_key
        return secret.get_secret_value() if secret is not None else None

    async def _call(self, operation: str, fn: Callable[[Any, str], T]) -> T:
        """`fn(client, bucket)` in a worker thread (boto3 is synchronous), errors mapped."""
        client = await self._get_client()
        bucket = self._s3_config.bucket_name
        return await self._mapped(operation, lambda: fn(client, bucket))

    async def _mapped(self, operation: str, fn: Callable[[], T]) -> T:
        exceptions = self._botocore_errors
        try:
            return await asyncio.to_thread(fn)
        except LlamaWorkbenchError:
            raise
        except exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            text = f"{self._where}: {operation} failed: {error.get('Code')}: {error.get('Message')}"
            raise ProviderError(
                self._provider_id, redact(text, self._secret()), upstream_status=status
            ) from exc
        except exceptions.NoCredentialsError as exc:
            text = (
                f"{self._where}: no AWS credentials: set aws_access_key_id and "
                "aws_secret_access_key, or configure boto3's credential chain"
            )
            raise ProviderError(self._provider_id, text) from exc
        except (exceptions.BotoCoreError, OSError) as exc:
            text = redact(f"cannot reach {self._where}: {operation} failed: {exc}", self._secret())
            raise ProviderUnavailableError(self._provider_id, text) from exc

    async def _get_client(self) -> Any:
        async with self._s3_lock:
            if self._client is None:
                self._boto3, self._boto_config, self._botocore_errors = _boto3()
                client = self._new_client()
                await self._mapped("bucket check", lambda: self._ensure_bucket(client))
                self._client = client
        return self._client

    def _new_client(self) -> Any:
        cfg = self._s3_config
        key_id = cfg.aws_access_key_id.get_secret_value() if cfg.aws_access_key_id else None
        # Standard retries (3 attempts) and bounded timeouts, so a dead endpoint fails in time.
        settings = self._boto_config(
            retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60
        )
        return self._boto3.session.Session().client(
            "s3", region_name=cfg.region, endpoint_url=cfg.endpoint_url,
            aws_access_key_id=key_id, aws_secret_access_key=self._secret(), config=settings,
        )  # fmt: skip

    def _ensure_bucket(self, client: Any) -> None:
        """The bucket exists, or is created when auto_create_bucket is set (as Llama Stack)."""
        cfg = self._s3_config
        try:
            client.head_bucket(Bucket=cfg.bucket_name)
            return
        except self._botocore_errors.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING_BUCKET:
                raise
        if not cfg.auto_create_bucket:
            raise ProviderError(
                self._provider_id,
                f"{self._where} does not exist. Create it, or set auto_create_bucket: true in "
                "the provider's config.",
                upstream_status=404,
            )
        if cfg.region == "us-east-1":  # S3 refuses a LocationConstraint of us-east-1
            client.create_bucket(Bucket=cfg.bucket_name)
        else:
            location = {"LocationConstraint": cfg.region}
            client.create_bucket(Bucket=cfg.bucket_name, CreateBucketConfiguration=location)
