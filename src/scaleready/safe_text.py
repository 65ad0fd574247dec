"""Text from profiles and rulesets, made safe for where it is shown.

A profile or a ruleset is data, never markup or code. Whatever its texts hold, they are shown as
the characters they are: in a terminal they never move the cursor, change colours or titles, or
make a link (terminal escape sequences and other control characters are removed); in Markdown
they never become HTML, a link, an image or a table cell (escaped); in a spreadsheet they never
become a formula (a single quote goes before a leading ``= + - @``, tab or line break, as OWASP's
CSV Injection page advises: https://owasp.org/www-community/attacks/CSV_Injection). The HTML
reports escape with ``html.escape`` after :func:`plain_text`.
"""

from __future__ import annotations

import re

__all__ = ["markdown_text", "plain_text", "spreadsheet_text", "terminal_line", "utf8_text"]

# ECMA-48 escape sequences, removed whole: a control sequence (CSI: ESC [ or 8-bit 0x9B, then
# parameters and one final byte); a control string (OSC, DCS, SOS, PM, APC, such as a terminal
# hyperlink or window title) up to its terminator BEL or ST; any other ESC and its final byte.
# An unterminated control string loses only its introducer, so no text after it is hidden.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# What is left to remove: C0 and C1 control characters and DEL (line breaks and tabs are handled
# apart), and the bidirectional formatting characters that can make text display in another
# order than it is stored ("Trojan Source", CVE-2021-42574).
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 but tab and line breaks, DEL, C1
    r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # bidi marks, embeddings, overrides, isolates
)
_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029]")
# A lone surrogate cannot be written as UTF-8. Python decodes an undecodable byte of a file name
# as one (U+DC80 to U+DCFF); it is shown as \xNN, the byte it stands for.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# Markdown: the characters that start HTML or an entity become entities; those that make links,
# images, emphasis, code, tables, headings, strikethrough or maths are escaped with a backslash.
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_SPECIAL = re.compile(r"[&<>\\`*_\[\]|~#$!]")

# A spreadsheet cell whose text begins with one of these is read as a formula (OWASP, above).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
FORMULA_GUARD = "'"
# Excel's limit on the characters of one cell; a longer text is cut, and says so.
SPREADSHEET_CELL_CHARS = 32_767


def plain_text(text: str, *, keep_line_breaks: bool = False) -> str:
    """``text`` without escape sequences, control or bidi formatting characters.

    Tabs become spaces; line breaks become ``\\n``, or spaces unless ``keep_line_breaks``.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, and the fast one
    text = utf8_text(text)
    text = _INVISIBLE.sub("", _ESCAPE_SEQUENCE.sub("", text)).replace("\t", " ")
    return _LINE_BREAK.sub("\n" if keep_line_breaks else " ", text)


def utf8_text(text: str) -> str:
    """``text`` with each lone surrogate shown as the byte it stands for: writable as UTF-8."""
    return _SURROGATE.sub(_surrogate_as_byte, text)


def terminal_line(text: str) -> str:
    """One line of text that is safe to print to a terminal."""
    return plain_text(text)


def markdown_text(text: str) -> str:
    """Text shown as itself in Markdown, on one line (so also in a table cell)."""
    return _MARKDOWN_SPECIAL.sub(_markdown_escape, plain_text(text))


def spreadsheet_text(text: str, max_chars: int | None = None) -> str:
    """Text a spreadsheet shows as text, never runs as a formula; cut to ``max_chars``."""
    text = plain_text(text, keep_line_breaks=True)
    if text.lstrip(" ")[:1] in FORMULA_TRIGGERS:
        text = FORMULA_GUARD + text
    if max_chars is not None and len(text) > max_chars:
        note = f" … [cut: {len(text):,} characters in all]"
        text = text[: max_chars - len(note)] + note
    return text


def _surrogate_as_byte(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def _markdown_escape(match: re.Match) -> str:
    character = match.group()
    return _MARKDOWN_ENTITIES.get(character) or "\\" + character
