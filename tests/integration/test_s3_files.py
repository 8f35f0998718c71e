"""remote::s3 against a real S3-compatible server on 127.0.0.1: moto's server mode
(ThreadedMotoServer), spoken to by boto3 over HTTP as to AWS, plus a whole stack on it."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from llama_workbench import Stack
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    NotFoundError,
    PayloadTooLargeError,
    ProviderError,
    ProviderUnavailableError,
    StorageError,
)
from llama_workbench.providers.remote.files.s3 import create
from llama_workbench.providers.remote.files.s3.config import S3FilesConfig
from llama_workbench.providers.remote.files.s3.impl import S3Files
from llama_workbench.storage.config import StorageConfig
from llama_workbench.storage.manager import StorageManager
from tests.support.vector_contract import free_port

boto3 = pytest.importorskip("boto3", reason="remote::s3 needs the s3 extra")
moto_server = pytest.importorskip("moto.server", reason="the S3 server is moto's server mode")
KEY_ID, SECRET = "AKIDTESTKEY", "test-secret-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def raw_client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET,
    )  # fmt: skip


def s3_config(endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "bucket_name": f"b-{secrets.token_hex(6)}", "endpoint_url": endpoint,
        "aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "auto_create_bucket": True,
        **extra,
    }  # fmt: skip


async def open_files(data_dir: Path, config: dict[str, Any]) -> S3Files:
    storage = StorageManager(StorageConfig(), data_dir)
    impl = await create(
        S3FilesConfig.model_validate(config), ProviderDeps("s3", {}, storage, data_dir)
    )
    assert isinstance(impl, S3Files)
    return impl


@pytest.fixture
async def files(endpoint: str, tmp_path: Path) -> AsyncIterator[S3Files]:
    impl = await open_files(tmp_path, s3_config(endpoint, max_file_size_bytes=1000))
    yield impl
    await impl.shutdown()
    await impl._deps.storage.close()


async def test_bytes_are_objects_in_the_bucket(files: S3Files, endpoint: str) -> None:
    made = await files.upload_file(b"hello s3", "assistants", "notes.txt")
    assert (made.filename, made.bytes, made.purpose) == ("notes.txt", 8, "assistants")
    bucket = files._s3_config.bucket_name
    s3 = raw_client(endpoint)
    assert s3.get_object(Bucket=bucket, Key=made.id)["Body"].read() == b"hello s3"
    assert await files.retrieve_file_content(made.id) == b"hello s3"
    listed = await files.list_files()
    assert [f.id for f in listed.data] == [made.id]
    assert (await files.delete_file(made.id)).deleted
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    with pytest.raises(NotFoundError):
        await files.retrieve_file(made.id)


async def test_limits_bad_ids_and_a_lost_object(files: S3Files, endpoint: str) -> None:
    with pytest.raises(PayloadTooLargeError, match="1000"):
        await files.upload_file(b"x" * 1001, "assistants", "big.bin")
    for bad_id in ("../kvstore.db", "file-a/b"):
        with pytest.raises(NotFoundError):
            await files.retrieve_file_content(bad_id)
    made = await files.upload_file(b"kept", "assistants", "k.txt")
    raw_client(endpoint).delete_object(Bucket=files._s3_config.bucket_name, Key=made.id)
    with pytest.raises(StorageError, match="object is missing"):
        await files.retrieve_file_content(made.id)


async def test_expired_files_leave_the_bucket(files: S3Files, endpoint: str) -> None:
    made = await files.upload_file(
        b"brief", "assistants", "t.txt", {"anchor": "created_at", "seconds": 3600}
    )
    await (await files._store()).update(
        files._table, {"expires_at": int(time.time()) - 1}, {"id": made.id}
    )
    assert (await files.list_files()).data == []
    assert (
        raw_client(endpoint).list_objects_v2(Bucket=files._s3_config.bucket_name)["KeyCount"] == 0
    )


async def test_a_missing_bucket_is_created_only_when_asked(endpoint: str, tmp_path: Path) -> None:
    config = s3_config(endpoint, auto_create_bucket=False)
    refused = await open_files(tmp_path, config)
    with pytest.raises(ProviderError, match=r"does not exist.*auto_create_bucket"):
        await refused.upload_file(b"x", "assistants", "x.txt")
    await refused.shutdown()
    regional = await open_files(tmp_path, s3_config(endpoint, region="eu-west-1"))
    await regional.upload_file(b"x", "assistants", "x.txt")
    location = raw_client(endpoint, "eu-west-1").get_bucket_location(
        Bucket=regional._s3_config.bucket_name
    )
    assert location["LocationConstraint"] == "eu-west-1"
    await regional.shutdown()
    await regional._deps.storage.close()


async def test_unreachable_endpoint_names_it_without_the_secret(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    impl = await open_files(tmp_path, s3_config(endpoint))
    impl._boto_config = lambda **_: impl._boto3.session.Config(
        retries={"max_attempts": 1}, connect_timeout=2
    )
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.upload_file(b"x", "assistants", "x.txt")
    assert endpoint in str(err.value) and SECRET not in str(err.value)
    assert (await impl.list_files()).data == []  # nothing was registered
    await impl._deps.storage.close()


def test_config_keys_are_llama_stacks() -> None:
    config = S3FilesConfig.model_validate({
        "bucket_name": "b12", "region": "eu-west-1", "aws_access_key_id": "",
        "aws_secret_access_key": "", "endpoint_url": "", "auto_create_bucket": "false",
        "metadata_store": {"backend": "sql_default", "table_name": "s3_files_metadata"},
    })  # fmt: skip
    assert config.endpoint_url is None and config.aws_access_key_id is None
    assert config.auto_create_bucket is False
    with pytest.raises(ValidationError, match="go together"):
        S3FilesConfig.model_validate({"bucket_name": "b12", "aws_access_key_id": "k"})
    with pytest.raises(ValidationError, match="http"):
        S3FilesConfig.model_validate({"bucket_name": "b12", "endpoint_url": "localhost:9000"})


def test_a_stack_serves_files_from_s3(endpoint: str, tmp_path: Path) -> None:
    config = {
        "data_dir": str(tmp_path),
        "apis": ["files"],
        "providers": {
            "files": [
                {"provider_id": "s3", "provider_type": "remote::s3", "config": s3_config(endpoint)}
            ]
        },
    }
    with Stack.from_config(config) as stack:
        made = stack.files.upload_file(b"through the stack", filename="s.txt")
        assert stack.files.retrieve_file_content(made.id) == b"through the stack"
    with Stack.from_config(config) as again:  # metadata in SQLite, bytes in the bucket
        assert again.files.retrieve_file_content(made.id) == b"through the stack"
        again.files.delete_file(made.id)
