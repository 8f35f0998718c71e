"""Text extraction from uploaded files: plain text, markdown, code, HTML, PDF, DOCX, JSON(L), CSV."""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import json
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from llama_workbench.core.errors import MissingDependencyError, UnprocessableError

_DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

SUPPORTED: dict[str, str] = {
    "txt": "text/plain",
    "text": "text/plain",
    "log": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "rst": "text/x-rst",
    "html": "text/html",
    "htm": "text/html",
    "pdf": "application/pdf",
    "docx": _DOCX_MIME,
    "json": "application/json",
    "jsonl": "application/jsonl",
    "ndjson": "application/jsonl",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "py": "text/x-python",
    "ipynb": "application/json",
    "js": "text/javascript",
    "ts": "text/x-typescript",
    "java": "text/x-java",
    "c": "text/x-c",
    "h": "text/x-c",
    "cpp": "text/x-c++",
    "hpp": "text/x-c++",
    "go": "text/x-go",
    "rs": "text/x-rust",
    "rb": "text/x-ruby",
    "sh": "text/x-shellscript",
    "sql": "text/x-sql",
    "css": "text/css",
    "xml": "application/xml",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "toml": "application/toml",
    "ini": "text/plain",
    "cfg": "text/plain",
    "tex": "text/x-tex",
}

# Mime types clients send for formats above under other names.
_MIME_ALIASES: dict[str, str] = {
    "application/x-ndjson": "application/jsonl",
    "application/x-jsonlines": "application/jsonl",
    "application/jsonlines": "application/jsonl",
    "application/xhtml+xml": "text/html",
    "application/x-yaml": "application/yaml",
    "application/javascript": "text/javascript",
    "application/x-sh": "text/x-shellscript",
    "application/sql": "text/x-sql",
    "text/xml": "application/xml",
}

# Mime types that say nothing about the content, so the extension or the bytes decide.
_GENERIC_MIMES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}

_TEXT_APPLICATION_MIMES = {"application/xml", "application/yaml", "application/toml"}


@dataclass(frozen=True)
class ExtractedDocument:
    """A document's text; `pages[i]` is the [start, end) span of page i+1 in `text` (PDF only)."""

    text: str
    pages: list[tuple[int, int]] | None = None
    mime_type: str = "text/plain"

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding char `offset` (a gap between pages counts as the page before)."""
        if not self.pages:
            return None
        index = bisect.bisect_right(self.pages, offset, key=lambda span: span[0]) - 1
        return max(index, 0) + 1


def extract_text(content: bytes, filename: str, mime_type: str | None = None) -> ExtractedDocument:
    """The text of an uploaded file, typed by mime type, else extension, else its first bytes."""
    mime = _resolve_mime(content, filename, mime_type)
    extractor = _EXTRACTORS[_kind(mime) or "text/plain"]
    text, pages = extractor(content, filename, mime_type)
    return ExtractedDocument(text=text, pages=pages, mime_type=mime)


def _resolve_mime(content: bytes, filename: str, mime_type: str | None) -> str:
    given = (mime_type or "").split(";")[0].strip().lower()
    given = _MIME_ALIASES.get(given, given)
    if given not in _GENERIC_MIMES and _kind(given) is not None:
        return given
    suffix = PurePosixPath(filename).suffix.lower().lstrip(".")
    if suffix in SUPPORTED:
        return SUPPORTED[suffix]
    if given not in _GENERIC_MIMES:
        raise _unsupported(filename, f"unsupported file type '{given}'")
    return _sniff(content, filename, suffix)


def _sniff(content: bytes, filename: str, suffix: str) -> str:
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                if "word/document.xml" in archive.namelist():
                    return _DOCX_MIME
        except zipfile.BadZipFile:
            pass
        raise _unsupported(filename, "unsupported file type (a zip archive, not a .docx)")
    if _looks_like_text(content):
        return "text/plain"
    shown = f"'.{suffix}', binary content" if suffix else "binary content"
    raise _unsupported(filename, f"unsupported file type ({shown})")


def _unsupported(filename: str, what: str) -> UnprocessableError:
    kinds = ", ".join(sorted(SUPPORTED))
    return UnprocessableError(f"{filename}: {what}; supported: {kinds}")


def _kind(mime: str) -> str | None:
    if mime in ("text/html", "application/pdf", _DOCX_MIME, "application/jsonl"):
        return mime
    if mime in ("text/csv", "text/tab-separated-values"):
        return "text/csv"
    if mime == "application/json" or mime.endswith("+json"):
        return "application/json"
    if mime.startswith("text/") or mime in _TEXT_APPLICATION_MIMES or mime.endswith("+xml"):
        return "text/plain"
    return None


def _looks_like_text(content: bytes) -> bool:
    sample = content[:8192]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in sample:
        return False
    try:
        # A sample may end inside a multi-byte character, so decode incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode(content: bytes, filename: str, charset: str | None = None) -> str:
    """Bytes to text with \\n newlines: BOMs honoured, a few bad bytes tolerated, binary refused."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = content.decode("utf-16")
    elif charset and not content.startswith(codecs.BOM_UTF8):
        try:
            text = content.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise UnprocessableError(f"{filename}: not valid {charset} text ({exc})") from exc
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text = content.decode("utf-8-sig", errors="replace")
            # A few stray bytes in a text file are tolerable; many mean it is not text at all.
            if text.count("\ufffd") > max(8, len(text) // 100) or "\x00" in text:
                raise UnprocessableError(f"{filename}: not UTF-8 text ({exc})") from exc
    return _newlines(text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _charset(mime_type: str | None) -> str | None:
    """A non-UTF-8 charset named by the mime type (UTF-8 is the default path, BOM and all)."""
    match = re.search(r"charset=\"?([\w.:-]+)", mime_type or "", re.IGNORECASE)
    if not match:
        return None
    try:
        return None if codecs.lookup(match.group(1)).name == "utf-8" else match.group(1)
    except LookupError:
        return match.group(1)  # _decode reports it, naming the file


_Extracted = tuple[str, list[tuple[int, int]] | None]


def _plain(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    return _decode(content, filename, _charset(mime_type)), None


def _json(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    text = _decode(content, filename, _charset(mime_type))
    if not text.strip():
        return "", None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnprocessableError(f"{filename}: not valid JSON ({exc})") from exc
    return json.dumps(parsed, indent=2, ensure_ascii=False), None


def _jsonl(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    records = []
    text = _decode(content, filename, _charset(mime_type))
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnprocessableError(
                f"{filename}: line {number} is not valid JSON ({exc})"
            ) from exc
        records.append(_render_record(record))
    return "\n\n".join(records), None


def _render_record(record: Any) -> str:
    if isinstance(record, dict):
        return "\n".join(f"{key}: {_render_value(value)}" for key, value in record.items())
    return _render_value(record)


def _render_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _csv(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    text = _decode(content, filename, _charset(mime_type))
    if not text.strip():
        return "", None
    tabs = (mime_type or "").startswith("text/tab-separated-values") or filename.endswith(".tsv")
    dialect: type[csv.Dialect] | Any = csv.excel_tab if tabs else _sniff_dialect(text)
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise UnprocessableError(f"{filename}: not readable CSV ({exc})") from exc
    header, lines = rows[0], []
    for row in rows[1:]:
        names = [*header, *(f"column {i + 1}" for i in range(len(header), len(row)))]
        pairs = [
            f"{name.strip() or f'column {i + 1}'}: {' '.join(value.split())}"
            for i, (name, value) in enumerate(zip(names, row, strict=False))
            if value.strip()
        ]
        if pairs:
            lines.append("; ".join(pairs))
    return "\n".join(lines), None


def _sniff_dialect(text: str) -> type[csv.Dialect] | Any:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _html(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    try:
        from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
    except ImportError as exc:
        raise MissingDependencyError(
            "beautifulsoup4", "rag", needed_by="document extraction"
        ) from exc
    with warnings.catch_warnings():
        # Advice for people calling bs4 by hand; an uploaded file is parsed as it is.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(content, "html.parser", from_encoding=_charset(mime_type))
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    blocks = [title] if title else []
    blocks += _html_blocks(soup.body or soup)
    return _newlines("\n\n".join(blocks)), None


_DROPPED_TAGS = [
    "head", "script", "style", "noscript", "template", "meta", "link", "base", "title",
    "svg", "canvas", "iframe", "object", "embed",
]  # fmt: skip

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
}  # fmt: skip


def _html_blocks(root: Any) -> list[str]:
    """Block-level text of an HTML tree, walked with a stack (deep nesting can't overflow)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    blocks: list[str] = []
    buffer: list[str] = []

    def flush(preformatted: bool = False) -> None:
        block = "".join(buffer)
        if not preformatted:
            lines = block.split("\n")
            block = "\n".join(" ".join(line.split()) for line in lines).strip("\n ")
        if block.strip():
            blocks.append(block)
        buffer.clear()

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is _CLOSE_BLOCK:
            flush()
        elif isinstance(node, PreformattedString):
            continue  # comments, doctypes, CDATA
        elif isinstance(node, NavigableString):
            buffer.append(str(node).replace("\n", " "))
        elif isinstance(node, Tag):
            if node.name == "br":
                buffer.append("\n")
            elif node.name == "pre":
                flush()
                buffer.append(node.get_text().strip("\n"))
                flush(preformatted=True)
            else:
                if node.name in ("td", "th") and "".join(buffer).strip():
                    buffer.append(" | ")
                if node.name in _BLOCK_TAGS:
                    flush()
                    stack.append(_CLOSE_BLOCK)
                stack.extend(reversed(node.contents))
    flush()
    return blocks


_CLOSE_BLOCK = object()


def _pdf(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    try:
        import pypdf
        from pypdf.errors import DependencyError
    except ImportError as exc:
        raise MissingDependencyError("pypdf", "rag", needed_by="document extraction") from exc
    try:
        reader = pypdf.PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnprocessableError(f"{filename}: the PDF is encrypted and needs a password")
        texts = [_newlines(page.extract_text() or "").strip() for page in reader.pages]
    except DependencyError as exc:
        raise MissingDependencyError("cryptography", needed_by="encrypted PDFs") from exc
    except UnprocessableError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; all mean the same here
        raise UnprocessableError(f"{filename}: not a readable PDF ({exc})") from exc
    return _join_pages(texts)


def _join_pages(texts: list[str]) -> _Extracted:
    pages, position = [], 0
    for text in texts:
        pages.append((position, position + len(text)))
        position += len(text) + 2
    return "\n\n".join(texts), pages


def _docx(content: bytes, filename: str, mime_type: str | None) -> _Extracted:
    try:
        import docx
        from docx.table import Table
    except ImportError as exc:
        raise MissingDependencyError("python-docx", "rag", needed_by="document extraction") from exc
    try:
        document = docx.Document(io.BytesIO(content))
        blocks = []
        for item in document.iter_inner_content():
            text = _docx_table(item) if isinstance(item, Table) else item.text.strip()
            if text:
                blocks.append(text)
    except Exception as exc:  # python-docx fails on damaged files with zip, XML and key errors
        raise UnprocessableError(f"{filename}: not a readable DOCX ({exc})") from exc
    return _newlines("\n\n".join(blocks)), None


def _docx_table(table: Any) -> str:
    rows = []
    for row in table.rows:
        cells, previous = [], None
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; keep it once.
            if cell._tc is not previous:
                text = " ".join(cell.text.split())
                if text:
                    cells.append(text)
            previous = cell._tc
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


_EXTRACTORS: dict[str, Callable[[bytes, str, str | None], _Extracted]] = {
    "text/plain": _plain,
    "text/html": _html,
    "application/pdf": _pdf,
    _DOCX_MIME: _docx,
    "application/json": _json,
    "application/jsonl": _jsonl,
    "text/csv": _csv,
}
