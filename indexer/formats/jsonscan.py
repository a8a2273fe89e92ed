"""JSON that is cut off (a file's head) or too big to parse at once (a document).

:func:`parse_prefix` parses as much of a JSON text as is complete: it is how
detection reads the first 64 KiB of a file whose first line is longer than that.
:func:`iter_stream` reads a document (an array, a collection, pretty-printed
values one after another) from a stream in chunks and yields its elements one by
one with their line numbers, in memory bounded by the largest element (plus one
chunk), not by the document.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

MAX_RAW = 1 << 16
"""Longest raw text kept for a reject that spans the rest of a document."""
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


STREAM_KEYS = ("orderedItems", "statuses", "posts", "feed")
"""Members of a top-level object whose array is streamed element by element: an
ActivityPub collection's items, an X v1.1 search response's tweets, a Bluesky
``searchPosts``/``getAuthorFeed`` page. (An X v2 page's ``data`` is not: its
``includes``, which resolve authors, come after it; the API caps a page at a few
hundred tweets, so a page is read whole.)"""
CHUNK_CHARS = 1 << 20
"""How much decompressed text a stream reads at a time."""
_BLANK = re.compile(r"[ \t\r\n]*")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[\]{}]', re.S)
"""A string (possibly cut off by the end of the buffer) or a bracket."""
_SCALAR = re.compile(r"[^,\]}\s]*")
_CLOSER = {"{": "}", "[": "]"}


@dataclass
class Piece:
    """One value of a JSON stream: an element of a streamed array (wrapped as
    ``{key: [element]}`` when it came from an object's :data:`STREAM_KEYS` member), or a
    whole top-level value; ``error`` when it is not JSON (``value`` is then None)."""

    line: int
    raw: str
    value: Any = None
    error: str | None = None


class DocumentError(ValueError):
    """Where a stream stops being JSON (brackets that do not match, a missing comma):
    nothing after it can be read as JSON."""


class _Buffer:
    """Decompressed text read in chunks, with the line number of every position.

    ``buf[pos:]`` is what has not been consumed; :meth:`consume` drops consumed text
    (keeping memory bounded by the largest single value plus one chunk).
    """

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self._started = False
        self._line = 1  # the line of buf[_line_pos]
        self._line_pos = 0

    def more(self) -> bool:
        """Read another chunk; False at the end of the input."""
        if self.eof:
            return False
        data = self._read(CHUNK_CHARS)
        text = self._decoder.decode(data, final=not data)
        if not data:
            self.eof = True
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        self.buf += text
        return bool(data) or bool(text)

    def line_at(self, pos: int) -> int:
        """The line of ``buf[pos]`` (``pos`` at or after the last position asked)."""
        self._line += self.buf.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def consume(self) -> None:
        """Forget the text before ``pos``."""
        if self.pos > CHUNK_CHARS:
            self.line_at(self.pos)
            self.buf = self.buf[self.pos :]
            self._line_pos -= self.pos
            self.pos = 0

    def skip_ws(self) -> str:
        """The next non-blank character (not consumed), "" at the end of the input."""
        while True:
            end = _BLANK.match(self.buf, self.pos)
            self.pos = end.end() if end else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def value_end(self, start: int) -> int:
        """The end of the JSON value at ``start`` (read on as needed); brackets and
        strings are matched, the rest is left to the decoder."""
        if self.buf[start] not in "{[":
            return self._scalar_end(start)
        stack = [_CLOSER[self.buf[start]]]
        scan = start + 1
        while True:
            found = _TOKEN.search(self.buf, scan)
            if found is None:
                scan = len(self.buf)
                if not self.more():
                    raise DocumentError("unexpected end of the document")
                continue
            token = found.group()
            if token[0] == '"':
                if found.end() == len(self.buf) and not self.eof:
                    scan = found.start()  # a string cut by the buffer's end: read on
                    self.more()
                    continue
                scan = found.end()
                continue
            scan = found.end()
            if token in "{[":
                stack.append(_CLOSER[token])
            elif token == stack[-1]:
                stack.pop()
                if not stack:
                    return scan
            else:
                raise DocumentError(f"'{token}' where '{stack[-1]}' was expected")

    def _scalar_end(self, start: int) -> int:
        if self.buf[start] == '"':
            while True:
                found = _TOKEN.match(self.buf, start)
                if found and (found.end() < len(self.buf) or self.eof):
                    return found.end()
                if not self.more():
                    return len(self.buf)
        while True:
            found = _SCALAR.match(self.buf, start)
            end = found.end() if found else start
            if end < len(self.buf) or not self.more():
                return end


def _wrap(value: Any, key: str | None) -> Any:
    return {key: [value]} if key is not None else value


def _next_piece(stream: _Buffer, key: str | None) -> tuple[Piece, int]:
    """The value at ``pos`` and where it ends. The C decoder reads it in place when it
    is complete in the buffer; otherwise (cut by the buffer's end, or not JSON) its
    extent is found by matching brackets, reading on as needed."""
    start = stream.pos
    try:
        value, end = _decoder.raw_decode(stream.buf, start)
    except json.JSONDecodeError:
        pass
    else:
        if end < len(stream.buf) or stream.eof or stream.buf[start] in "{[":
            return Piece(stream.line_at(start), stream.buf[start:end], _wrap(value, key)), end
    end = stream.value_end(start)
    raw = stream.buf[start:end]
    line = stream.line_at(start)
    try:
        return Piece(line, raw, _wrap(msgspec.json.decode(raw), key)), end
    except msgspec.DecodeError as e:
        return Piece(line, raw, error=f"bad JSON: {e}"), end


def _expect(stream: _Buffer, char: str, what: str) -> None:
    found = stream.skip_ws()
    if found != char:
        raise DocumentError(f"expected {what}, found {found or 'the end'!r}")
    stream.pos += 1


def _array(stream: _Buffer, key: str | None) -> Iterator[Piece]:
    """The elements of the array whose ``[`` is at ``pos``, then ``pos`` after its ``]``."""
    stream.pos += 1
    if stream.skip_ws() == "]":
        stream.pos += 1
        return
    while True:
        if stream.skip_ws() == "":
            raise DocumentError("unexpected end of the document")
        piece, end = _next_piece(stream, key)
        yield piece
        stream.pos = end
        stream.consume()
        after = stream.skip_ws()
        stream.pos += 1
        if after == "]":
            return
        if after != ",":
            raise DocumentError(f"expected ',' or ']' after an array element, found {after!r}")


def _object(stream: _Buffer) -> Iterator[Piece]:
    """A top-level object: its :data:`STREAM_KEYS` array streamed, else the object whole.

    Other members of a streamed object (``@context``, ``search_metadata``...) are
    passed over; its text before the streamed member is kept until then.
    """
    start = stream.pos
    try:
        value, end = _decoder.raw_decode(stream.buf, start)
    except json.JSONDecodeError:
        pass
    else:  # complete in the buffer: whole, unless it is a collection to stream
        if not any(isinstance(value.get(k), list) for k in STREAM_KEYS):
            yield Piece(stream.line_at(start), stream.buf[start:end], value)
            stream.pos = end
            stream.consume()
            return
    stream.pos += 1
    streamed = False
    if stream.skip_ws() == "}":
        stream.pos += 1
    else:
        while True:
            if stream.skip_ws() != '"':
                raise DocumentError("expected a member name")
            key_end = stream.value_end(stream.pos)
            key = json.loads(stream.buf[stream.pos : key_end])
            stream.pos = key_end
            _expect(stream, ":", "':'")
            first = stream.skip_ws()
            if first == "[" and key in STREAM_KEYS and not streamed:
                streamed = True
                yield from _array(stream, key)
            elif first:
                stream.pos = stream.value_end(stream.pos)
            after = stream.skip_ws()
            stream.pos += 1
            if after == "}":
                break
            if after != ",":
                raise DocumentError(f"expected ',' or '}}' after a member, found {after!r}")
    if not streamed:
        end = stream.pos
        stream.pos = start
        piece, _ = _next_piece(stream, None)
        stream.pos = end
        yield piece
    stream.consume()


def iter_stream(read: Callable[[int], bytes]) -> Iterator[Piece]:
    """The JSON values of a stream read with ``read(n)``, in bounded memory.

    The stream holds one or more top-level values (a document, or pretty-printed
    values one after another as ``jq`` writes them). A top-level array yields its
    elements; a top-level object with an array member named in :data:`STREAM_KEYS`
    yields that array's elements (each as ``{key: [element]}``); any other value is
    yielded whole. An element that is not JSON but whose brackets match is one
    :class:`Piece` with an ``error``, and reading goes on; where the structure itself
    breaks, one last error piece holds the rest (up to :data:`MAX_RAW` characters).
    """
    stream = _Buffer(read)
    while True:
        first = stream.skip_ws()
        if not first:
            return
        try:
            if first == "[":
                yield from _array(stream, None)
            elif first == "{":
                yield from _object(stream)
            else:
                piece, end = _next_piece(stream, None)
                yield piece
                stream.pos = end
        except DocumentError as e:
            at = min(stream.pos, len(stream.buf))
            while len(stream.buf) - at < MAX_RAW and stream.more():
                pass
            rest = stream.buf[at : at + MAX_RAW]
            yield Piece(stream.line_at(at), rest, error=f"bad JSON: {e} (rest of the document)")
            return
        stream.consume()
