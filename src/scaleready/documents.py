"""Safe loading of the YAML and JSON documents that profiles and rulesets are written in."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .errors import InputError

__all__ = ["SUFFIXES", "Document", "load_document", "nearest"]

SUFFIXES = (".yaml", ".yml", ".json")
Location = tuple[str | int, ...]

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STANDARD_TAG = "tag:yaml.org,2002:"
_YAML_ADVICE = (
    ("tab", "indent with spaces, not tabs"),
    ("'\\t'", "indent with spaces, not tabs"),
    (
        "mapping values are not allowed",
        "put a value that contains ': ' in quotes, or fix the indentation",
    ),
    ("expected a single document", "keep one document per file (remove the extra '---')"),
    ("could not find expected ':'", "write each line as 'key: value' and close every quote"),
)


class _Rejected(yaml.MarkedYAMLError):
    """A well-formed YAML construct that plain-data documents do not allow."""

    def __init__(self, problem: str, node: yaml.Node) -> None:
        super().__init__(problem=problem, problem_mark=node.start_mark)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys, aliases, merge keys and unknown tags."""

    noun = "document"  # what the documents are called in messages: "profile", "ruleset"

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A node seen twice is an alias; refusing them rules out "billion laughs" documents.
        if node in self.constructed_objects:
            raise _Rejected(
                "the value anchored on this line ('&name') is reused by an alias "
                "('*name'); aliases are not allowed: write the value out in full",
                node,
            )
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise _Rejected("a key must be plain text; put it in quotes", key_node)
            if key in mapping:
                text = key_node.value if isinstance(key_node, yaml.ScalarNode) else key
                raise _Rejected(f"duplicate key '{text}'; keep only one of them", key_node)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        for key_node, _ in node.value:
            if key_node.tag == _STANDARD_TAG + "merge":
                raise _Rejected(
                    "merge keys ('<<') are not allowed; write the keys out in full", key_node
                )

    def construct_undefined(self, node: yaml.Node) -> NoReturn:
        tag = node.tag.replace(_STANDARD_TAG, "!!", 1)
        raise _Rejected(f"the tag '{tag}' is not allowed: {self.noun}s are plain data", node)


_StrictLoader.add_constructor(None, _StrictLoader.construct_undefined)


@dataclass
class Document:
    """A parsed document: its data, where it came from, and its raw bytes for hashing."""

    data: dict[str, Any]
    path: Path
    raw: bytes = field(repr=False)
    _root: yaml.Node | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes, as read."""
        return hashlib.sha256(self.raw).hexdigest()

    def line_of(self, location: Location) -> int | None:
        """Line (1-based) of a key path, or of its deepest existing prefix; None if none exists."""
        node, line = self._compose(), None
        for step in location:
            node = _child(node, step)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    def _compose(self) -> yaml.Node | None:
        # Only on the error path: the fast path parses once and never builds the node tree.
        if self._root is None:
            try:
                self._root = yaml.compose(_decode(self.raw), Loader=_StrictLoader)
            except (yaml.YAMLError, UnicodeDecodeError):
                return None
        return self._root


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    """The key node (for a mapping) or the item node (for a list) that a path step names."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return _KeyedNode(key_node, value_node)
    if isinstance(node, _KeyedNode):
        return _child(node.value_node, step)
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        return node.value[step]
    return None


class _KeyedNode(yaml.Node):
    """A mapping entry: reports the key's line, walks on into the value."""

    def __init__(self, key_node: yaml.Node, value_node: yaml.Node) -> None:
        super().__init__(key_node.tag, key_node.value, key_node.start_mark, key_node.end_mark)
        self.value_node = value_node


def load_document(path: Path, error: type[InputError]) -> Document:
    """Read a .yaml, .yml or .json file whose top level is a mapping, or raise `error`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise error(
            f"unknown file type '{path.suffix}': use .yaml, .yml or .json", source=str(path)
        )
    raw = _read(path, error)
    data = _parse_json(raw, path, error) if suffix == ".json" else _parse_yaml(raw, path, error)
    if not isinstance(data, dict):
        raise error(
            f"expected a mapping of 'key: value' entries at the top level, got {_kind(data)}",
            source=str(path),
        )
    return Document(data=data, path=path, raw=raw)


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to a misspelt name, for 'did you mean ...?', or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _read(path: Path, error: type[InputError]) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error("file not found; check the path", source=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", source=str(path)) from None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8-sig")  # tolerate the byte-order mark some editors write


def _text(raw: bytes, path: Path, error: type[InputError]) -> str:
    try:
        return _decode(raw)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            f"line {line}: the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save it with UTF-8 encoding",
            source=str(path),
        ) from None


def _parse_yaml(raw: bytes, path: Path, error: type[InputError]) -> Any:
    text = _text(raw, path, error)
    try:
        return _safe_load(text, error)
    except yaml.MarkedYAMLError as exc:
        raise error(_yaml_message(exc), source=str(path)) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", source=str(path)) from None


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}: " if mark else ""
    if isinstance(exc, _Rejected):
        return f"{where}{exc.problem}"
    problem = " ".join(p for p in (exc.context, exc.problem) if p)
    advice = next(
        (a for key, a in _YAML_ADVICE if key in problem),
        "check the indentation and quoting on this line and the one before",
    )
    return f"{where}not valid YAML ({problem}); {advice}"


def _parse_json(raw: bytes, path: Path, error: type[InputError]) -> Any:
    text = _text(raw, path, error)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise error(
            f"line {exc.lineno}: not valid JSON ({exc.msg[0].lower()}{exc.msg[1:]}, "
            f"column {exc.colno}); check for a missing comma, bracket or quote",
            source=str(path),
        ) from None
    except _DuplicateKey as exc:
        raise error(_duplicate_message(text, exc.key, error), source=str(path)) from None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _DuplicateKey(key)
        mapping[key] = value
    return mapping


def _duplicate_message(text: str, key: str, error: type[InputError]) -> str:
    # JSON is YAML here: the YAML loader finds the duplicate again and knows its line.
    try:
        _safe_load(text, error)
    except yaml.MarkedYAMLError as exc:
        if isinstance(exc, _Rejected) and exc.problem.startswith("duplicate key"):
            return _yaml_message(exc)
    except yaml.YAMLError:
        pass
    return f"duplicate key '{key}'; keep only one of them"


def _safe_load(text: str, error: type[InputError]) -> Any:
    """Parse YAML with the strict safe loader; messages call the documents after `error`."""
    loader = _StrictLoader(text)
    loader.noun = error.__name__.removesuffix("Error").lower() or "input"
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (the file is empty)"
    return "a list" if isinstance(value, list) else f"a single value ({str(value)[:40]!r})"
