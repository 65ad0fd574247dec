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

import json
import re

__all__ = [
    "markdown_text",
    "plain_text",
    "spreadsheet_text",
    "terminal_json",
    "terminal_line",
    "utf8_text",
]

# ECMA-48 escape sequences, removed whole: a control sequence (CSI: ESC [ or 8-bit 0x9B, then
# parameters and one final byte); a control string (OSC, DCS, SOS, PM, APC, such as a terminal
# hyperlink or window title) up to its terminator BEL or ST; any other ESC and its final byte.
# An unterminated control string loses only its introducer, so no text after it is hidden.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# Character classes, as the inside of a regular expression's [...].
_C0 = "\x00-\x08\x0b\x0c\x0e-\x1f"  # C0 controls, ESC among them, but tab and line breaks
_C1 = "\x7f-\x9f"  # DEL and the C1 controls (8-bit CSI and OSC among them)
# Bidirectional formatting characters: they can make text display in another order than it is
# stored ("Trojan Source", CVE-2021-42574).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SEPARATORS = "\u2028\u2029"  # Unicode's line and paragraph separators
# A lone surrogate cannot be written as UTF-8. Python decodes an undecodable byte of a file name
# as one (U+DC80 to U+DCFF); it is shown as \xNN, the byte it stands for.
_SURROGATES = "\ud800-\udfff"

_INVISIBLE = re.compile(f"[{_C0}{_C1}{_BIDI}]")
_LINE_BREAK = re.compile(f"\r\n|[\r\n{_SEPARATORS}]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
# Every character the substitutions act on: a text with none is returned as it is, quickly.
_NEEDS_CLEANING = re.compile(f"[\t\r\n{_C0}{_C1}{_BIDI}{_SEPARATORS}{_SURROGATES}]")
# json.dumps(ensure_ascii=True) writes each character outside printable ASCII as \uXXXX (a pair
# of them beyond the BMP); these stay escaped, every other is written back as itself. An escaped
# backslash is matched whole, so the "u" after it is never read as the start of an escape.
_JSON_KEPT_ESCAPED = re.compile(f"[\x00-\x1f{_C1}{_BIDI}{_SEPARATORS}{_SURROGATES}]")
_JSON_ESCAPE = re.compile(r"\\\\|\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})")

# Markdown: the characters that start HTML or an entity become entities; those that make links,
# images, emphasis, code, tables, headings, strikethrough or maths are escaped with a backslash
# (an image needs "![", so escaping "[" is enough; "_" between letters or digits is inert, so
# field names such as yearly_income stay readable).
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_SPECIAL = re.compile(r"[&<>\\`*\[\]|~#$_]")

# A spreadsheet cell whose text begins with one of these is read as a formula (OWASP, above).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
FORMULA_GUARD = "'"
# Excel's limit on the characters of one cell; a longer text is cut, and says so.
SPREADSHEET_CELL_CHARS = 32_767


def plain_text(text: str, *, keep_line_breaks: bool = False) -> str:
    """``text`` without escape sequences, control or bidi formatting characters.

    Tabs become spaces; line breaks become ``\\n``, or spaces unless ``keep_line_breaks``.
    """
    if (text.isascii() and text.isprintable()) or not _NEEDS_CLEANING.search(text):
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


def terminal_json(document: object) -> str:
    """``document`` as indented JSON that is safe to print: control and bidi formatting
    characters, line separators and lone surrogates stay ``\\uXXXX`` escapes; the rest is shown
    as itself, as ``json.dumps(ensure_ascii=False)`` would."""
    return _JSON_ESCAPE.sub(_json_character, json.dumps(document, indent=2, ensure_ascii=True))


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


def _json_character(match: re.Match) -> str:
    high, low, code = match.groups()
    if high:  # a surrogate pair: one character beyond the BMP
        return chr(0x10000 + (int(high, 16) - 0xD800 << 10) + int(low, 16) - 0xDC00)
    if code is None:
        return match.group()  # an escaped backslash
    character = chr(int(code, 16))
    return match.group() if _JSON_KEPT_ESCAPED.match(character) else character


def _markdown_escape(match: re.Match) -> str:
    character, text, at = match.group(), match.string, match.start()
    if character == "_" and text[at - 1 : at].isalnum() and text[at + 1 : at + 2].isalnum():
        return character
    return _MARKDOWN_ENTITIES.get(character) or "\\" + character
