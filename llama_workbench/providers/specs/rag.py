"""Files, file processors and vector stores (and the RAG tool over them)."""

from __future__ import annotations

from llama_workbench.core.datatypes import Api, ProviderSpec

_P = "llama_workbench.providers"


def rag_specs() -> list[ProviderSpec]:
    """Files, file processors, vector stores, builtin::rag."""
    return [
        ProviderSpec(
            api=Api.files,
            provider_type="inline::localfs",
            module=f"{_P}.inline.files.localfs",
            config_class=f"{_P}.inline.files.localfs.config:LocalfsFilesConfig",
            description="Files on the local disk, metadata in the SQL store.",
        ),
        ProviderSpec(
            api=Api.files,
            provider_type="remote::s3",
            module=f"{_P}.remote.files.s3",
            config_class=f"{_P}.remote.files.s3.config:S3FilesConfig",
            description="File bytes in an S3 bucket (AWS or S3-compatible), metadata in the SQL store.",
            pip_packages=("boto3",),
            pip_extra="s3",
        ),
        ProviderSpec(
            api=Api.file_processors,
            provider_type="inline::pypdf",
            module=f"{_P}.inline.file_processors.pypdf",
            config_class=f"{_P}.inline.file_processors.pypdf.config:PyPDFProcessorConfig",
            description="Files into chunks: PDF through pypdf, other documents through our parsers.",
            optional_api_dependencies=(Api.files,),
            pip_packages=("pypdf",),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::faiss",
            module=f"{_P}.inline.vector_io.faiss",
            config_class=f"{_P}.inline.vector_io.faiss.config:FaissVectorIOConfig",
            description="faiss indexes (flat or HNSW) persisted to disk; BM25 keyword search by SQLite FTS5.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("faiss-cpu", "numpy"),
            pip_extra="rag",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::sqlite-vec",
            module=f"{_P}.inline.vector_io.sqlite_vec",
            config_class=f"{_P}.inline.vector_io.sqlite_vec.config:SqliteVecVectorIOConfig",
            description="One SQLite file: sqlite-vec for vectors, FTS5 for keywords.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("sqlite-vec", "pysqlite3-binary", "numpy"),
            pip_extra="rag",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::pgvector",
            module=f"{_P}.remote.vector_io.pgvector",
            config_class=f"{_P}.remote.vector_io.pgvector.config:PGVectorVectorIOConfig",
            description="PostgreSQL with the pgvector extension; keyword search by Postgres full text.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("asyncpg",),
            pip_extra="postgres",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::qdrant",
            module=f"{_P}.remote.vector_io.qdrant",
            config_class=f"{_P}.remote.vector_io.qdrant.config:QdrantVectorIOConfig",
            description="A Qdrant server (or qdrant-client's local mode, given a path).",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("qdrant-client",),
            pip_extra="qdrant",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::chromadb",
            module=f"{_P}.remote.vector_io.chromadb",
            config_class=f"{_P}.remote.vector_io.chromadb.config:ChromaVectorIOConfig",
            description="A Chroma server, over its REST API.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("httpx",),
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="inline::milvus",
            module=f"{_P}.inline.vector_io.milvus",
            config_class=f"{_P}.inline.vector_io.milvus.config:MilvusLiteVectorIOConfig",
            description="Milvus Lite in this process (a .db folder); BM25 full-text by Milvus.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("pymilvus", "milvus-lite"),
            pip_extra="milvus",
        ),
        ProviderSpec(
            api=Api.vector_io,
            provider_type="remote::milvus",
            module=f"{_P}.remote.vector_io.milvus",
            config_class=f"{_P}.remote.vector_io.milvus.config:MilvusVectorIOConfig",
            description="A Milvus server over pymilvus; BM25 full-text search by Milvus.",
            api_dependencies=(Api.inference,),
            optional_api_dependencies=(Api.files,),
            pip_packages=("pymilvus",),
            pip_extra="milvus",
        ),
        ProviderSpec(
            api=Api.tool_runtime,
            provider_type="inline::rag-runtime",
            module=f"{_P}.inline.tool_runtime.rag",
            config_class=f"{_P}.inline.tool_runtime.rag.config:RagToolRuntimeConfig",
            description="The builtin::rag tool group: knowledge_search over vector stores.",
            api_dependencies=(Api.vector_io,),
            optional_api_dependencies=(Api.files,),
        ),
    ]
