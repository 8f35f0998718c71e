"""Text extraction from every supported format, with real pypdf, python-docx and BeautifulSoup."""

from __future__ import annotations

import io
import json

import pytest

from llama_workbench.core.errors import UnprocessableError
from llama_workbench.providers.utils.documents import SUPPORTED, ExtractedDocument, extract_text

DOCX_MIME = SUPPORTED["docx"]


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text object per page, one line per string."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    font = 3 + 2 * count
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
    ]
    for i, lines in enumerate(pages):
        shown = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
        stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream) + 1, stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew in every region.")
    document.add_paragraph("")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["Region", "Growth"], ["EMEA", "12%"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Outlook is stable.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def encrypt(pdf: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password, "owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_plain_text_handles_bom_and_newlines() -> None:
    doc = extract_text(b"\xef\xbb\xbfline one\r\nline two\rline three", "notes.txt")
    assert doc == ExtractedDocument("line one\nline two\nline three", None, "text/plain")
    assert doc.page_at(3) is None


def test_utf16_text_with_bom() -> None:
    assert extract_text("héllo".encode("utf-16"), "a.txt").text == "héllo"


def test_a_stray_bad_byte_is_replaced_but_binary_is_refused() -> None:
    text = extract_text(b"caf\xe9 au lait, " + b"a" * 200, "menu.txt").text
    assert text.startswith("caf\ufffd au lait")
    with pytest.raises(UnprocessableError, match=r"blob\.txt: not UTF-8 text"):
        extract_text(bytes(range(128, 256)) * 4, "blob.txt")


def test_markdown_and_code_by_extension() -> None:
    md = extract_text(b"# Title\n\nBody", "README.md")
    assert (md.text, md.mime_type) == ("# Title\n\nBody", "text/markdown")
    code = extract_text(b"def f():\n    return 1\n", "mod.py")
    assert (code.text, code.mime_type) == ("def f():\n    return 1\n", "text/x-python")
    assert extract_text(b"a: 1\n", "c.yaml").text == "a: 1\n"


def test_charset_in_mime_type_is_honoured() -> None:
    doc = extract_text("café".encode("latin-1"), "a.txt", "text/plain; charset=iso-8859-1")
    assert doc.text == "café"
    assert extract_text(b"\xef\xbb\xbfok", "a.txt", "text/plain; charset=UTF-8").text == "ok"
    with pytest.raises(UnprocessableError, match=r"a\.txt: not valid klingon text"):
        extract_text(b"x", "a.txt", "text/plain; charset=klingon")


HTML = b"""<!DOCTYPE html>
<html><head><title>  The   Title </title><meta name="x" content="meta junk">
<style>body { color: red }</style><script>var junk = 1;</script><link rel="x" href="y"></head>
<body><!-- a comment --><noscript>enable js junk</noscript><template><p>tpl junk</p></template>
<h1>Heading</h1><p>First   paragraph
   spans lines.</p><p>Second <b>bold</b> <a href="#">link</a>.<br>After break.</p>
<div><div>Nested <span>inline</span> text</div></div>
<table><tr><th>Name</th><th>Qty</th></tr><tr><td>Apple</td><td>3</td></tr></table>
<pre>  keep
    indent</pre><pre>\n</pre><script>more junk</script></body></html>"""


def test_html_drops_junk_and_keeps_paragraphs() -> None:
    doc = extract_text(HTML, "page.html")
    assert doc.mime_type == "text/html"
    assert "junk" not in doc.text and "color" not in doc.text and "comment" not in doc.text
    assert doc.text.split("\n\n") == [
        "The Title",
        "Heading",
        "First paragraph spans lines.",
        "Second bold link.\nAfter break.",
        "Nested inline text",
        "Name | Qty",
        "Apple | 3",
        "  keep\n    indent",
    ]


def test_pdf_pages_and_spans() -> None:
    pdf = make_pdf([["Hello page one", "Second line"], ["Page two text"]])
    doc = extract_text(pdf, "report.pdf")
    assert doc.mime_type == "application/pdf"
    assert doc.pages is not None and len(doc.pages) == 2
    first, second = (doc.text[start:end] for start, end in doc.pages)
    assert "Hello page one" in first and "Second line" in first
    assert second == "Page two text"
    assert doc.text == f"{first}\n\n{second}"
    assert doc.page_at(0) == 1
    assert doc.page_at(doc.pages[0][1]) == 1  # the gap between pages belongs to the page before
    assert doc.page_at(doc.pages[1][0]) == 2
    assert doc.page_at(len(doc.text) - 1) == 2


def test_encrypted_pdf_with_empty_password_opens() -> None:
    doc = extract_text(encrypt(make_pdf([["Secret text"]]), ""), "locked.pdf")
    assert doc.text == "Secret text"


def test_encrypted_pdf_with_password_is_refused() -> None:
    pdf = encrypt(make_pdf([["Secret text"]]), "hunter2")
    with pytest.raises(UnprocessableError, match=r"locked\.pdf: the PDF is encrypted"):
        extract_text(pdf, "locked.pdf")


def test_corrupt_pdf_names_the_file() -> None:
    with pytest.raises(UnprocessableError, match=r"report\.pdf: not a readable PDF \("):
        extract_text(b"%PDF-1.4\nthis is not really a pdf", "report.pdf")


def test_docx_paragraphs_and_tables() -> None:
    doc = extract_text(make_docx(), "report.docx")
    assert doc.mime_type == DOCX_MIME
    assert doc.text == (
        "Quarterly report\n\nRevenue grew in every region.\n\n"
        "Region | Growth\nEMEA | 12%\n\nOutlook is stable."
    )


def test_corrupt_docx_names_the_file() -> None:
    with pytest.raises(UnprocessableError, match=r"broken\.docx: not a readable DOCX"):
        extract_text(b"PK\x03\x04garbage", "broken.docx")


def test_json_is_pretty_printed() -> None:
    doc = extract_text(b'{"name":"caf\\u00e9","tags":["a","b"]}', "data.json")
    assert doc.text == json.dumps(
        {"name": "café", "tags": ["a", "b"]}, indent=2, ensure_ascii=False
    )
    with pytest.raises(UnprocessableError, match=r"bad\.json: not valid JSON"):
        extract_text(b"{nope", "bad.json")


def test_jsonl_records_as_key_value_lines() -> None:
    content = b'{"q": "Why?", "score": 3, "tags": ["x"]}\n\n{"q": "How?"}\n"bare"\n'
    doc = extract_text(content, "qa.jsonl")
    assert doc.text == 'q: Why?\nscore: 3\ntags: ["x"]\n\nq: How?\n\nbare'
    with pytest.raises(UnprocessableError, match=r"qa\.jsonl: line 2 is not valid JSON"):
        extract_text(b'{"a": 1}\n{broken\n', "qa.jsonl")


def test_csv_rows_with_header_names() -> None:
    content = b'name,city,note\r\nAlice,Paris,"likes, commas"\r\nBob,,\r\n,,\r\n'
    assert extract_text(content, "people.csv").text == (
        "name: Alice; city: Paris; note: likes, commas\nname: Bob"
    )


def test_csv_dialect_is_sniffed_and_tsv_is_tabbed() -> None:
    semicolons = b"id;label\n1;one\n2;two\n"
    assert extract_text(semicolons, "x.csv").text == "id: 1; label: one\nid: 2; label: two"
    tabs = b"id\tlabel\n1\tone, really\n"
    assert extract_text(tabs, "x.tsv").text == "id: 1; label: one, really"


def test_mime_type_wins_over_extension_unless_generic() -> None:
    assert extract_text(b"<p>a</p><p>b</p>", "page", "text/html").text == "a\n\nb"
    octet = extract_text(b"# T", "notes.md", "application/octet-stream")
    assert octet.mime_type == "text/markdown"


def test_sniffing_without_mime_or_extension() -> None:
    assert extract_text(make_pdf([["Sniffed"]]), "upload").text == "Sniffed"
    assert extract_text(make_docx(), "upload", "application/octet-stream").mime_type == DOCX_MIME
    plain = extract_text(b"just some text", "upload.unknown")
    assert (plain.text, plain.mime_type) == ("just some text", "text/plain")


def test_unsupported_types_name_the_file_and_the_type() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    with pytest.raises(UnprocessableError, match=r"image\.png: unsupported file type 'image/png'"):
        extract_text(png, "image.png", "image/png")
    with pytest.raises(UnprocessableError, match=r"image\.png: .*binary.*supported: .*pdf"):
        extract_text(png, "image.png")


def test_empty_documents_give_empty_text() -> None:
    assert extract_text(b"", "empty.txt").text == ""
    assert extract_text(b"", "empty.json").text == ""
    assert extract_text(b"", "empty.csv").text == ""
    assert extract_text(b"<html><body></body></html>", "e.html").text == ""
