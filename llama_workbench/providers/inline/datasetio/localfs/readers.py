"""Rows from CSV/TSV, JSON Lines, JSON and Parquet files, folders of them, and data: URIs."""

from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from llama_workbench.apis.datasets.models import Row, rows_from
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.inline.datasetio.localfs.rows import import_optional

NEEDED_BY = "inline::localfs"
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}
KNOWN = (
    ".csv, .tsv, .jsonl, .json and .parquet files, folders of them, and folders saved by `datasets`"
)


def format_of(name: str) -> str | None:
    """The format a file name's extension says, or None."""
    return FORMATS.get(Path(name).suffix.lower())


def read_file(path: Path, dataset_id: str) -> list[Row]:
    fmt = format_of(path.name)
    if fmt is None:
        raise BadRequestError(
            f"Dataset '{dataset_id}': can't read {path.name}; localfs reads {KNOWN}."
        )
    return parse(path, fmt, str(path), dataset_id)


def read_folder(path: Path, dataset_id: str) -> list[Row]:
    """Every supported file under a folder (hidden ones skipped), in path order."""
    files = [
        p
        for p in sorted(path.rglob("*"))
        if p.is_file()
        and format_of(p.name) is not None
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]
    if not files:
        raise BadRequestError(
            f"Dataset '{dataset_id}': the folder {path} holds no files localfs reads ({KNOWN})."
        )
    return [row for file in files for row in read_file(file, dataset_id)]


def read_data_uri(uri: str, dataset_id: str) -> list[Row]:
    """A data: URI such as data:text/csv;base64,... or data:application/jsonl,... ."""
    header, comma, payload = uri[len("data:") :].partition(",")
    parts = [p.strip().lower() for p in header.split(";")]
    fmt = _media_format(parts[0])
    if not comma or fmt is None:
        raise BadRequestError(
            f"Dataset '{dataset_id}': a data: URI needs a media type localfs reads (csv, tsv, "
            "jsonl, json, parquet) and a comma before the data, e.g. data:text/csv;base64,..."
        )
    try:
        raw = (
            base64.b64decode(payload, validate=True)
            if "base64" in parts
            else unquote_to_bytes(payload)
        )
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(
            f"Dataset '{dataset_id}': the data: URI is not valid base64: {exc}"
        ) from exc
    return parse(raw, fmt, "the data: URI", dataset_id)


def _media_format(media: str) -> str | None:
    kind = media.rsplit("/", 1)[-1]
    for needle, fmt in (
        ("parquet", "parquet"),
        ("ndjson", "jsonl"),
        ("jsonl", "jsonl"),
        ("json-lines", "jsonl"),
        ("json", "json"),
        ("tab-separated", "tsv"),
        ("tsv", "tsv"),
        ("csv", "csv"),
    ):
        if needle in kind:
            return fmt
    return None


def parse(source: Path | bytes, fmt: str, label: str, dataset_id: str) -> list[Row]:
    """Rows of a file or of bytes in `fmt`; unreadable content is a BadRequestError."""
    try:
        if fmt in ("csv", "tsv"):
            pandas = import_optional("pandas", "pandas", NEEDED_BY)
            return rows_from(pandas.read_csv(_stream(source), sep="\t" if fmt == "tsv" else ","))
        if fmt == "parquet":
            parquet = import_optional("pyarrow.parquet", "pyarrow", NEEDED_BY)
            return rows_from(parquet.read_table(_stream(source)))
        text = source.read_text("utf-8") if isinstance(source, Path) else source.decode("utf-8")
    except (ValueError, OSError) as exc:  # parser errors, bad encodings, unreadable files
        raise BadRequestError(
            f"Dataset '{dataset_id}': can't read {label} as {fmt}: {exc}"
        ) from exc
    return (
        _json_lines(text, label, dataset_id) if fmt == "jsonl" else _json(text, label, dataset_id)
    )


def _stream(source: Path | bytes) -> Any:
    return str(source) if isinstance(source, Path) else io.BytesIO(source)


def _json(text: str, label: str, dataset_id: str) -> list[Row]:
    try:
        value = json.loads(text)
    except ValueError:
        return _json_lines(text, label, dataset_id)  # JSON Lines saved as .json
    if isinstance(value, dict):  # {"data": [...]}: the one list inside
        lists = [v for v in value.values() if isinstance(v, list)]
        value = lists[0] if len(lists) == 1 else value
    if not isinstance(value, list):
        raise BadRequestError(
            f"Dataset '{dataset_id}': {label} must hold a JSON list of row objects "
            f"(or one object with such a list), got a {type(value).__name__}."
        )
    return rows_from(value)


def _json_lines(text: str, label: str, dataset_id: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise BadRequestError(
                    f"Dataset '{dataset_id}': line {number} of {label} is not JSON: {exc}"
                ) from exc
    return rows_from(rows)
