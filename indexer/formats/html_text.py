"""Mastodon's status HTML as plain text, with the standard library's HTML parser.

Mastodon writes a small, regular subset of HTML (``<p>``, ``<br>``, ``<a>`` and
``<span>`` with double-quoted attributes). :func:`html_to_text` reads that subset
with one regular expression (several times faster than :class:`HTMLParser`) and
hands anything else to :class:`HTMLParser`, so both give the same text: the fast
path only takes markup whose meaning to :class:`HTMLParser` is certain (every
``<`` starts one of those tags, written exactly; text between tags is unescaped
with :func:`html.unescape`, as the parser's ``convert_charrefs`` does).
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import polars as pl

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def _break(self, n: int) -> None:
        """End the current line(s): at most ``n`` newlines in a row, none at the start."""
        if not self.parts:
            return
        text = "".join(self.parts)
        have = len(text) - len(text.rstrip("\n"))
        if have < n:
            self.parts.append("\n" * (n - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self._break(2 if tag != "li" else 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self._break(2 if tag != "li" else 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text_parser(html: str) -> str:
    """:func:`html_to_text` by :class:`HTMLParser` alone (any HTML)."""
    if "<" not in html and "&" not in html:
        return html
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip("\n")


_ATTRS = r"(?:[ \t\n]+[a-z][a-z0-9-]*(?:=\"[^\"<>]*\")?)*[ \t\n]*/?"
"""A start tag's attributes: lowercase names, values double-quoted without ``<`` or
``>`` (so a tag holds no ``<`` but its first), optionally self-closing (``/>``)."""
_TAG_RE = re.compile(rf"<(?:/(?:a|span)|(?:a|span){_ATTRS}|(/p|(?:p|br){_ATTRS}))>")
"""A tag of the subset: an end tag ``</p>``, ``</a>``, ``</span>`` exactly, or a start
tag of ``p``, ``br``, ``a`` or ``span`` (lowercase). The one group holds a ``p`` or
``br`` tag (without ``<>``); it is None for the others, which make no text."""
_P = "\x00"
"""Stands for a ``<p>`` or ``</p>`` while the text is assembled (not in the fast path's input)."""


def _subset_to_text(html: str) -> str | None:
    """The text of ``html`` if it is all in the subset, else None.

    Split at the tags of the subset, the pieces are text, tag, text, tag..., text; every
    ``<`` must start one of those tags (as many tags as ``<``: a tag holds one), else
    None. Each text is unescaped by itself, as HTMLParser's ``convert_charrefs`` does
    with the text between two tags; ``<br>`` is a newline, ``<a>`` and ``<span>`` are
    nothing, and each ``<p>``/``</p>`` (:data:`_P` meanwhile) ends the text so far
    with a blank line: at most two newlines in a row, none at the start, as
    ``_TextParser._break(2)`` does. (``_break`` adds newlines at the start after a
    text that unescapes to nothing, e.g. ``&#1;``; only at the start, which
    :func:`html_to_text` strips.)
    """
    pieces = _TAG_RE.split(html)
    if html.count("<") != len(pieces) // 2 or _P in html:
        return None
    if "&" in html:
        pieces[::2] = [unescape(t) if "&" in t else t for t in pieces[::2]]
    pieces[1::2] = ["" if t is None else "\n" if t[0] == "b" else _P for t in pieces[1::2]]
    text = "".join(pieces)
    if _P not in text:
        return text.strip("\n")
    chunks = text.split(_P)
    out = chunks[0]
    for chunk in chunks[1:]:
        if out:
            have = len(out) - len(out.rstrip("\n"))
            if have < 2:
                out += "\n" * (2 - have)
        out += chunk
    return out.strip("\n")


def html_to_text(html: str) -> str:
    """Tags dropped, paragraphs as blank lines, ``<br>`` as newlines, entities unescaped."""
    if "<" not in html and "&" not in html:
        return html
    text = _subset_to_text(html)
    return text if text is not None else html_to_text_parser(html)


_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&"}
"""The references Mastodon writes, and their characters (replaced in one pass, so
``&amp;lt;`` becomes ``&lt;``, as :func:`html.unescape` makes it)."""
_ENTITY_RE = r"&(?:lt|gt|quot|#39|amp);"
_GONE = "\x01"
"""Stands for a tag that makes no text while a batch is converted (removed last, so
that taking a tag out never joins what was around it into a new tag)."""
_PLAIN_TAGS = {
    "<p>": _P,
    "</p>": _P,
    "<br>": "\n",
    "<br/>": "\n",
    "<br />": "\n",
    "</a>": _GONE,
    "</span>": _GONE,
}
"""Tags of the subset Mastodon writes exactly so, and what each becomes (see
:func:`_subset_to_text`), replaced in one pass of literal matching."""
_INLINE_RE = rf"<(?:a|span){_ATTRS}>"
"""The subset's ``a`` and ``span`` start tags (which make no text)."""


def html_to_text_batch(html: pl.Series) -> pl.Series:
    """:func:`html_to_text` of every string of ``html``, a batch at once.

    polars does what :func:`_subset_to_text` does for the strings whose markup is
    plain enough: the ``a`` and ``span`` start tags of the subset, then the tags of
    :data:`_PLAIN_TAGS`, are replaced (a tag is a ``<`` up to the next ``>`` with no
    ``<`` between, and none is replaced by nothing until the end, so these steps find
    the tags the subset's regex finds), and if no ``<`` is left and every ``&`` starts
    one of :data:`_ENTITIES`, the references are replaced and each run of paragraph
    marks and newlines becomes what ``_TextParser._break(2)`` makes of it: the
    newlines before its first mark, at least two, then the newlines after it (the
    whole stripped of newlines, but for a string with no ``<`` and no ``&``, which
    is its own text). Every other string
    (``<p>`` with attributes, another tag, a bare ``<``, another reference...) goes
    through :func:`html_to_text` one by one.
    """
    out = _in_polars(html)
    texts = out["text"]
    while texts.str.contains("\x00\n*\x00").any():
        texts = texts.str.replace_all("\x00(\n*)\x00", "\x00${1}")
    texts = (
        texts.str.replace_all("(\n\n+)\x00", "${1}")
        .str.replace_all("\n?\x00", "\n\n")
        .str.strip_chars("\n")
    )
    texts = out.select(pl.when(pl.col("plain")).then(pl.col("h")).otherwise(texts)).to_series()
    others = (~out["simple"]).arg_true()
    if others.len():
        originals = html.gather(others).to_list()
        texts = texts.scatter(others, [html_to_text(t) for t in originals])
    return texts


def _in_polars(html: pl.Series) -> pl.DataFrame:
    """Per string of ``html`` (``h``): its ``text`` with tags and references replaced
    (paragraphs still marks), whether that is all of it (``simple``), and whether it
    has no markup at all (``plain``); see :func:`html_to_text_batch`."""
    h, tagged = pl.col("h"), pl.col("tagged")
    frame = pl.DataFrame({"h": html}, schema={"h": pl.String}).with_columns(
        tagged=h.str.replace_all(_INLINE_RE, _GONE).str.replace_many(
            list(_PLAIN_TAGS), list(_PLAIN_TAGS.values())
        )
    )
    return frame.select(
        h,
        text=tagged.str.replace_many(list(_ENTITIES), list(_ENTITIES.values())).str.replace_all(
            _GONE, "", literal=True
        ),
        simple=(
            ~tagged.str.contains("<", literal=True)
            & (h.str.count_matches("&", literal=True) == h.str.count_matches(_ENTITY_RE))
            & ~h.str.contains_any([_P, _GONE])
        ).fill_null(True),
        plain=~h.str.contains_any(["<", "&"]),
    )
