"""JSON that is cut off (a file's head) or too big to parse line by line (a document).

:func:`parse_prefix` parses as much of a JSON text as is complete: it is how
detection reads the first 64 KiB of a file whose first line is longer than that.
:func:`iter_elements` walks a document's top-level array element by element, with
each element's position (so a record's line is known).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_decoder = json.JSONDecoder()
_WS = " \t\r\n"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def parse_prefix(text: str, pos: int = 0, depth: int = 0) -> Any:
    """The value at ``pos``, with cut-off containers holding what was complete.

    A truncated object keeps its complete members (and a partial last container
    member); a truncated scalar is dropped. Returns None if nothing is complete.
    """
    pos = _skip_ws(text, pos)
    try:
        return _decoder.raw_decode(text, pos)[0]
    except json.JSONDecodeError:
        pass
    if pos >= len(text) or text[pos] not in "{[" or depth > 32:
        return None
    is_obj = text[pos] == "{"
    out_obj: dict[str, Any] = {}
    out_list: list[Any] = []
    pos += 1
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text) or text[pos] in "}]":
            break
        key = None
        if is_obj:
            try:
                key, pos = _decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                break
            pos = _skip_ws(text, pos)
            if pos >= len(text) or text[pos] != ":" or not isinstance(key, str):
                break
            pos = _skip_ws(text, pos + 1)
        try:
            value, pos = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            partial = parse_prefix(text, pos, depth + 1)
            if partial is not None:
                if is_obj:
                    out_obj[str(key)] = partial
                else:
                    out_list.append(partial)
            break
        if is_obj:
            out_obj[str(key)] = value
        else:
            out_list.append(value)
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
    return out_obj if is_obj else out_list


class DocumentError(ValueError):
    """A document that stops parsing at ``pos``; elements before it were yielded."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def iter_elements(text: str) -> Iterator[tuple[int, int, Any]]:
    """(start, end, value) for each element of a top-level array, or the one object.

    Raises :class:`DocumentError` where the text stops being JSON; the elements
    before that point have been yielded.
    """
    pos = _skip_ws(text, 0)
    if pos < len(text) and text[pos] == "{":
        try:
            value, end = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise DocumentError(f"bad JSON: {e.msg}", e.pos) from None
        if _skip_ws(text, end) != len(text):
            raise DocumentError("bad JSON: extra data after the document", end)
        yield pos, end, value
        return
    if pos >= len(text) or text[pos] != "[":
        raise DocumentError("bad JSON: not an array or object", pos)
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        try:
            value, end = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise DocumentError(f"bad JSON: {e.msg}", e.pos) from None
        yield pos, end, value
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]" and _skip_ws(text, pos + 1) == len(text):
            return
        raise DocumentError("bad JSON: expected ',' or ']' after an array element", pos)
