"""[n] markers in a reply that point at the last file search's results become file citations."""

from __future__ import annotations

import re

from llama_workbench.apis.responses.models import FileCitation, FileSearchCallItem

_CITATION = re.compile(r"\[(\d+)\]")


def citations(text: str, search: FileSearchCallItem | None) -> list[FileCitation]:
    results = search.results if search else None
    if not results:
        return []
    found = []
    for match in _CITATION.finditer(text):
        n = int(match.group(1))
        if 1 <= n <= len(results):
            hit = results[n - 1]
            found.append(
                FileCitation(file_id=hit.file_id, filename=hit.filename, index=match.start())
            )
    return found
