"""Config of remote::s3: Llama Stack 0.7.3's keys (bucket, region, credentials, endpoint)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from llama_workbench.storage.config import SqlStoreRef


class S3FilesConfig(BaseModel):
    """File bytes as objects in an S3 bucket (AWS, MinIO, any S3-compatible server)."""

    model_config = ConfigDict(extra="forbid")

    bucket_name: str = Field(min_length=3, description="The bucket the files go in.")
    region: str = Field("us-east-1", description="The bucket's region.")
    aws_access_key_id: SecretStr | None = Field(
        None, description="Unset: boto3's own credential chain (environment, profile, IAM role)."
    )
    aws_secret_access_key: SecretStr | None = None
    endpoint_url: str | None = Field(
        None, description="An S3-compatible server (MinIO, LocalStack, ...); unset: AWS."
    )
    auto_create_bucket: bool = Field(
        False, description="Create the bucket on first use when it does not exist."
    )
    metadata_store: SqlStoreRef = Field(
        default_factory=lambda: SqlStoreRef(backend="sql_default", table_name="s3_files_metadata"),
        description="SQL backend and table for file metadata.",
    )
    max_file_size_bytes: int = Field(
        512 * 1024 * 1024, ge=1, description="Uploads larger than this are refused (413)."
    )

    @field_validator("aws_access_key_id", "aws_secret_access_key", "endpoint_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `${env.AWS_ACCESS_KEY_ID:=}` in a run config yields "" when the variable is not set.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("endpoint_url must be an http(s) URL, e.g. http://localhost:9000")
        return value

    @model_validator(mode="after")
    def _key_pair(self) -> S3FilesConfig:
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError(
                "aws_access_key_id and aws_secret_access_key go together: set both, or neither "
                "(boto3's credential chain)"
            )
        return self
