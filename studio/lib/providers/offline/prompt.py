"""Reading the parts the studio puts in a prompt (brand style, body, locale copy, edit instruction)."""

from __future__ import annotations

import re
import unicodedata

COPY_LINE = re.compile(r'^In-image text \(([^)]*)\):\s*"(.*)"\s*$', re.MULTILINE)
EDIT_LINE = re.compile(r"^Edit:\s*(.+)$", re.MULTILINE | re.DOTALL)


def split_prompt(prompt: str) -> dict[str, str]:
    """The parts the studio puts in a prompt: brand style, body, locale copy and edit instruction."""
    copy_match = COPY_LINE.search(prompt)
    edit_match = EDIT_LINE.search(prompt)
    body = prompt
    for match in (copy_match, edit_match):
        if match:
            body = body.replace(match.group(0), "")
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    style = ""
    if paragraphs and paragraphs[0].startswith("Brand style:"):
        style = paragraphs.pop(0)
    return {
        "style": style,
        "body": "\n".join(paragraphs),
        "locale": copy_match.group(1).strip() if copy_match else "",
        "copy": unicodedata.normalize("NFC", copy_match.group(2).strip()) if copy_match else "",
        "instruction": edit_match.group(1).strip() if edit_match else "",
    }
