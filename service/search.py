"""Full-text post search: ``GET /v1/posts``.

:func:`search_posts` is a pure function of a tantivy index (its searcher) and
:class:`SearchParams`; it reads no clock and keeps no state between calls.

Query language of ``q`` (never a tantivy query string, so no input can fail to
parse and no field other than the post text can be addressed):

* words, all of which must match (AND): ``rust tokio``; uppercase ``AND``
  between words is accepted and changes nothing;
* ``"a phrase"`` in double quotes: the words adjacent, in order, exactly (no
  typo tolerance); an unterminated quote runs to the end of ``q``;
* ``-word`` / ``-"a phrase"``: must not match;
* ``OR`` (uppercase) between groups of words: either group;
  ``a b OR c`` is ``(a AND b) OR c``;
* each word goes through the index's text analyzer, so case and accents
  fold (``cafe`` finds ``Café``) and punctuation separates words. A word
  that splits into several (``e-mail``, ``l'été``, ``text:foo``) is a phrase;
* typo tolerance: an unquoted word of >= 5 letters also matches words 1 edit
  away, >= 8 letters 2 edits (Damerau: a transposition is one edit); words
  with digits are matched exactly. Exact matches score BM25, typo-only
  matches a small constant, so exact matches rank first.

``q`` absent or blank lists the filtered posts. ``q`` with nothing searchable
in it (only punctuation or emoji), more than :data:`MAX_Q_CHARS` characters or
more than :data:`MAX_WORDS` words is an :class:`InvalidParameter` naming ``q`` (a 400).

Sorting and pagination (``next_cursor`` is opaque: base64url of a msgpack
array, bound to the query by a hash of its parameters, and signed: a keyed
BLAKE2b MAC with the service's cursor key follows the array, so a forged or
edited cursor, e.g. one with a deep offset, is refused before it costs a search):

* ``recent`` (``created_at`` desc) and ``engagement`` (engagement desc, then
  ``created_at`` desc), remaining ties by document address ascending: keyset
  pagination (search-after). The cursor holds the last post's sort values and
  how many posts with exactly those values were returned; the next page reads
  the rest of that (small) tie group, then the posts below it, each part by a
  range restriction on the fast fields, so a deep page costs what the first
  one does (measured flat up to page 600 and at 130,000 posts into one
  engagement value).
* ``relevance`` (BM25 desc, ties by document address): offset pagination (a
  score cannot be range-restricted); the cost of a page grows with its offset
  (about 1 ms per 10,000 skipped). Without words to rank by (no ``q``, or
  only ``-`` exclusions), ``relevance`` sorts as ``recent``.

A cursor is valid for the same q, filters and sort (``limit`` may change);
any other cursor, or a garbled one, is an InvalidParameter naming ``cursor``. Cursors do not
name the generation: after a new generation is published, a keyset cursor
continues from the same sort values, an offset cursor from the same offset.

Time in the index has one-second resolution (tantivy's date fast field):
``from``/``to`` select posts whose ``created_at``, truncated to the second, lies
in ``[from, to)``, and ``recent`` orders posts of the same second by address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast, get_args

import msgspec
import tantivy
from tantivy import FieldType, Occur, Order, Query

from indexer.schema import (
    EPOCH,
    F_AUTHOR,
    F_COMMUNITY,
    F_COMMUNITY_KEY,
    F_CREATED_AT,
    F_ENGAGEMENT,
    F_LANG,
    F_LIKES,
    F_PLATFORM,
    F_QUOTES,
    F_REPLIES,
    F_REPOSTS,
    F_TAGS,
    F_TEXT,
    F_UID,
    text_analyzer,
)
from service.edits import osa_distance
from service.query_errors import InvalidParameter

Sort = Literal["relevance", "recent", "engagement"]
SORTS: tuple[str, ...] = get_args(Sort)

MAX_LIMIT = 100
"""Largest page size."""
MAX_Q_CHARS = 1000
"""Longest accepted ``q``."""
MAX_WORDS = 32
"""Most analyzed words (phrase words included) in one ``q``."""
SNIPPET_CHARS = 200
"""Length of a snippet: the highlighted fragment, or the start of the text."""
FUZZY_MIN_LEN = (5, 8)
"""A word of at least ``FUZZY_MIN_LEN[d - 1]`` characters tolerates ``d`` edits."""
FUZZY_WEIGHT = 0.5
"""Constant score of a typo-tolerant match (an exact match adds its BM25 score)."""

_CURSOR_VERSION = 1
_NS_PER_US = 1000
# tantivy dates live in [MIN_DATETIME, MAX_DATETIME]; bounds are whole seconds.
_DATE_MIN = tantivy.MIN_DATETIME.replace(microsecond=0) + timedelta(seconds=1)
_DATE_MAX = tantivy.MAX_DATETIME.replace(microsecond=0)
_DATE_NS = tuple(int((t - EPOCH).total_seconds()) * 10**9 for t in (_DATE_MIN, _DATE_MAX))
_I64 = (-(2**63), 2**63 - 1)
_LOCAL = threading.local()
# A quoted phrase (maybe negated, maybe unterminated) or a run of non-space, non-quote.
_PIECE = re.compile(r'-?"[^"]*(?:"|$)|[^\s"]+')


# --------------------------------------------------------------------------- API


@dataclass(frozen=True)
class SearchParams:
    """The parameters of ``GET /v1/posts``, already typed by the route."""

    q: str | None = None
    tag: str | None = None
    """A tag key (normalised by the caller)."""
    author: str | None = None
    platform: str | None = None
    lang: str | None = None
    community: str | None = None
    """A community key (:func:`indexer.schema.community_key`, applied by the caller)."""
    from_: datetime | None = None
    """Inclusive."""
    to: datetime | None = None
    """Exclusive."""
    sort: Sort = "relevance"
    limit: int = 20
    cursor: str | None = None


class PostItem(msgspec.Struct):
    """One post of a result page."""

    id: str
    platform: str
    community: str | None
    """Where the post was made (Reddit's subreddit) as written; null when none."""
    created_at: datetime
    author: str
    text: str
    snippet: str
    """HTML: the text escaped, matched words in ``<b>``; the start of the text if none matched."""
    hashtags: list[str]
    """Tag keys."""
    likes: int
    reposts: int
    replies: int
    quotes: int


class PostsPage(msgspec.Struct):
    """A page of search results."""

    total: int
    """All matching posts, not only this page's."""
    items: list[PostItem]
    next_cursor: str | None
    """Pass as ``cursor`` for the next page; null on the last page."""


def search_posts(
    index: tantivy.Index,
    searcher: tantivy.Searcher,
    params: SearchParams,
    cursor_key: bytes = b"",
) -> PostsPage:
    """Run one search: one page of posts, the exact total and the next cursor.

    Cursors are signed with ``cursor_key`` (at most 64 bytes) and must carry its
    signature. Raises :class:`InvalidParameter` for a bad ``q``, ``limit``,
    ``from``/``to`` or ``cursor``; never anything else for any user input.
    """
    schema = index.schema
    _check_params(params)
    text = parse_q(params.q)
    sort = _effective_sort(params.sort, text)
    query = _full_query(schema, text, params)
    fingerprint = query_fingerprint(params, sort)
    cursor = _decode_cursor(params.cursor, fingerprint, searcher.num_docs, cursor_key)
    reader = _Reader(schema, searcher)
    if sort == "relevance":
        page = _relevance_page(searcher, query, params.limit, cursor)
    else:
        page = _keyset_page(reader, query, _KEYS[sort], params.limit, cursor)
    if page.total is None:
        page.total = _count(searcher, query, params, text)
    next_cursor = None if page.next is None else _encode_cursor(fingerprint, page.next, cursor_key)
    items = _items(reader, page.addresses, text)
    return PostsPage(total=page.total, items=items, next_cursor=next_cursor)


# ----------------------------------------------------------------- parameters


def _check_params(params: SearchParams) -> None:
    if params.sort not in SORTS:
        raise InvalidParameter(f"sort must be one of {', '.join(SORTS)}", "sort")
    if not 1 <= params.limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    if params.from_ is not None and params.to is not None and _utc(params.from_) > _utc(params.to):
        raise InvalidParameter("from must not be later than to", "from")


def _utc(t: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _effective_sort(sort: Sort, text: TextQuery | None) -> Sort:
    """Without words to rank by (no q, or only exclusions), relevance means recent."""
    ranks = text is not None and any(True for _ in text.positive())
    return "recent" if sort == "relevance" and not ranks else sort


def query_fingerprint(params: SearchParams, sort: str) -> bytes:
    """8 bytes identifying what a cursor may continue: everything but limit and cursor."""
    key: list[str | None] = [
        params.q,
        params.tag,
        params.author,
        params.platform,
        params.lang,
        None if params.from_ is None else _utc(params.from_).isoformat(),
        None if params.to is None else _utc(params.to).isoformat(),
        sort,
    ]
    if params.community:  # appended only when given: cursors made before it stay valid
        key.append(params.community)
    return hashlib.blake2b(msgspec.msgpack.encode(key), digest_size=8).digest()


# ----------------------------------------------------------------- q parsing


@dataclass(frozen=True)
class Clause:
    """One word or phrase of ``q``, as analyzed tokens."""

    tokens: tuple[str, ...]
    negated: bool = False
    fuzzy: int = 0
    """Edits tolerated (only for a single, unquoted, positive word)."""


@dataclass(frozen=True)
class TextQuery:
    """``q`` parsed: groups OR-ed together, each a conjunction of clauses."""

    groups: tuple[tuple[Clause, ...], ...]

    def positive(self) -> Iterator[Clause]:
        """The clauses that must (or may) match, for highlighting."""
        for group in self.groups:
            yield from (c for c in group if not c.negated)


def parse_q(q: str | None) -> TextQuery | None:
    """Parse ``q`` (see the module doc); None when it is absent or blank."""
    if q is None or not q.strip():
        return None
    if len(q) > MAX_Q_CHARS:
        raise InvalidParameter(f"q is too long: at most {MAX_Q_CHARS} characters", "q")
    parsed = _parse(q, operators=True) or _parse(q, operators=False)
    if not parsed:
        raise InvalidParameter(
            "q has nothing to search for: give words of letters or digits, or omit q", "q"
        )
    words = sum(len(c.tokens) for group in parsed for c in group)
    if words > MAX_WORDS:
        raise InvalidParameter(f"q has too many words: at most {MAX_WORDS}", "q")
    return TextQuery(parsed)


def _parse(q: str, *, operators: bool) -> tuple[tuple[Clause, ...], ...]:
    """The non-empty groups of ``q``; ``operators=False`` reads OR/AND as words."""
    groups: list[list[Clause]] = [[]]
    for piece in _PIECE.findall(q):
        if operators and piece == "OR":
            groups.append([])
        elif not (operators and piece == "AND"):
            clause = _clause(piece)
            if clause is not None:
                groups[-1].append(clause)
    return tuple(tuple(g) for g in groups if g)


def _clause(piece: str) -> Clause | None:
    """A word or phrase piece of ``q`` as a clause; None if nothing searchable is in it."""
    negated = piece.startswith("-") and len(piece) > 1
    body = piece[1:] if negated else piece
    quoted = body.startswith('"')
    tokens = tuple(analyze(body.strip('"')))
    if not tokens:
        return None
    single_word = len(tokens) == 1 and not quoted and not negated
    return Clause(tokens, negated, _fuzzy_distance(tokens[0]) if single_word else 0)


def analyze(text: str) -> list[str]:
    """The index's text analysis (one analyzer per thread: tantivy objects are not shared)."""
    analyzer: tantivy.TextAnalyzer | None = getattr(_LOCAL, "analyzer", None)
    if analyzer is None:
        analyzer = _LOCAL.analyzer = text_analyzer()
    return analyzer.analyze(text)


def _fuzzy_distance(token: str) -> int:
    """Edits tolerated for a word: by length, none for words with digits."""
    if any(ch.isdigit() for ch in token):
        return 0
    return sum(len(token) >= n for n in FUZZY_MIN_LEN)


# ------------------------------------------------------------ query building


def _full_query(schema: tantivy.Schema, text: TextQuery | None, params: SearchParams) -> Query:
    """The text query (or all posts) AND every filter; filters add nothing to the score."""
    base = Query.all_query() if text is None else _text_query(schema, text)
    filters = _filters(schema, params)
    return _and(base, *filters) if filters else base


def _text_query(schema: tantivy.Schema, text: TextQuery) -> Query:
    groups = [_group_query(schema, g) for g in text.groups]
    if len(groups) == 1:
        return groups[0]
    return Query.boolean_query([(Occur.Should, g) for g in groups])


def _group_query(schema: tantivy.Schema, clauses: Sequence[Clause]) -> Query:
    subs = [(Occur.MustNot if c.negated else Occur.Must, _clause_query(schema, c)) for c in clauses]
    if all(c.negated for c in clauses):
        subs.append((Occur.Must, Query.all_query()))
    return Query.boolean_query(subs)


def _clause_query(schema: tantivy.Schema, clause: Clause) -> Query:
    if len(clause.tokens) > 1:
        return Query.phrase_query(schema, F_TEXT, list(clause.tokens))
    token = clause.tokens[0]
    exact = Query.term_query(schema, F_TEXT, token)
    if not clause.fuzzy:
        return exact
    fuzzy = Query.fuzzy_term_query(schema, F_TEXT, token, clause.fuzzy)
    return Query.boolean_query(
        [(Occur.Should, exact), (Occur.Should, Query.const_score_query(fuzzy, FUZZY_WEIGHT))]
    )


def _filters(schema: tantivy.Schema, params: SearchParams) -> list[Query]:
    """Term filters (an empty value means no filter) and the date range."""
    terms = (
        (F_TAGS, params.tag),
        (F_AUTHOR, params.author),
        (F_PLATFORM, params.platform),
        (F_LANG, params.lang),
        (F_COMMUNITY_KEY, params.community),
    )
    out = [Query.term_query(schema, field, value) for field, value in terms if value]
    if params.from_ is not None or params.to is not None:
        out.append(_date_range(schema, params.from_, params.to))
    return out


def _date_range(schema: tantivy.Schema, lo: datetime | None, hi: datetime | None) -> Query:
    """``[lo, hi)`` on created_at; bounds rounded up to whole seconds (the index's precision)."""
    return Query.range_query(
        schema,
        F_CREATED_AT,
        FieldType.Date,
        None if lo is None else _clamp_date(_ceil_second(_utc(lo))),
        None if hi is None else _clamp_date(_ceil_second(_utc(hi))),
        include_lower=True,
        include_upper=hi is None,
    )


def _ceil_second(t: datetime) -> datetime:
    return t if t.microsecond == 0 else t.replace(microsecond=0) + timedelta(seconds=1)


def _clamp_date(t: datetime) -> datetime:
    return min(max(t, _DATE_MIN), _DATE_MAX)


def _and(query: Query, *restrictions: Query) -> Query:
    """``query`` restricted by each of ``restrictions``, which add nothing to the score."""
    subs = [(Occur.Must, Query.const_score_query(r, 0.0)) for r in restrictions]
    return Query.boolean_query([(Occur.Must, query), *subs])


def _count(
    searcher: tantivy.Searcher, query: Query, params: SearchParams, text: TextQuery | None
) -> int:
    """The exact number of matches."""
    if text is None and not _filters_given(params):
        return searcher.num_docs
    return _total(searcher.search(query, 1, count=True))


def _total(result: tantivy.SearchResult) -> int:
    """The count of all matches of a search run with ``count=True``."""
    count: int = getattr(result, "count")  # noqa: B009 (missing from tantivy-py's stub)
    return count


def _filters_given(params: SearchParams) -> bool:
    values = (params.tag, params.author, params.platform, params.lang, params.community)
    return any(values) or params.from_ is not None or params.to is not None


# ------------------------------------------------------------------- cursor


class _Cursor(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    """What a cursor carries. ``offset`` for relevance; ``key``/``skip`` for keyset sorts."""

    version: int
    fingerprint: bytes
    offset: int = 0
    key: list[int] | None = None
    """Sort values of the last post returned (dates as epoch ns)."""
    skip: int = 0
    """How many posts with exactly the sort values ``key`` were returned so far."""


_CURSOR_DECODER = msgspec.msgpack.Decoder(_Cursor)


MAC_BYTES = 16
"""Length of a cursor's signature."""


def sign(raw: bytes, key: bytes) -> bytes:
    """``raw`` followed by its keyed BLAKE2b MAC."""
    return raw + hashlib.blake2b(raw, key=key, digest_size=MAC_BYTES).digest()


def _encode_cursor(fingerprint: bytes, state: _Cursor, key: bytes) -> str:
    state.fingerprint = fingerprint
    signed = sign(msgspec.msgpack.encode(state), key)
    return base64.urlsafe_b64encode(signed).rstrip(b"=").decode("ascii")


def _decode_cursor(
    token: str | None, fingerprint: bytes, num_docs: int, key: bytes
) -> _Cursor | None:
    """The cursor's state, checked against its signature and this query; InvalidParameter if
    it does not fit."""
    if token is None or token == "":
        return None
    try:
        signed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        raw = signed[:-MAC_BYTES]
        if not raw or not hmac.compare_digest(sign(raw, key), signed):
            raise ValueError("bad signature")
        state = _CURSOR_DECODER.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidParameter("cursor is not a valid cursor", "cursor") from None
    if state.version != _CURSOR_VERSION or not _cursor_in_range(state, num_docs):
        raise InvalidParameter("cursor is not a valid cursor", "cursor")
    if state.fingerprint != fingerprint:
        raise InvalidParameter(
            "cursor belongs to another query: repeat the same q, filters and sort, "
            "or start again without a cursor",
            "cursor",
        )
    return state


def _cursor_in_range(state: _Cursor, num_docs: int) -> bool:
    """Counts that a real cursor can hold (its sort values are checked with the sort)."""
    return 0 <= state.offset <= num_docs and 0 <= state.skip <= num_docs


# ---------------------------------------------------------------- pagination


@dataclass
class _Page:
    addresses: list[tantivy.DocAddress]
    total: int | None
    """None when the page's searches did not count (counted afterwards)."""
    next: _Cursor | None


def _relevance_page(
    searcher: tantivy.Searcher, query: Query, limit: int, cursor: _Cursor | None
) -> _Page:
    """Offset pagination by score; ties by document address (tantivy's order)."""
    offset = 0 if cursor is None else cursor.offset
    result = searcher.search(query, limit + 1, count=True, offset=offset)
    hits = [address for _, address in result.hits]
    more = len(hits) > limit
    state = _Cursor(_CURSOR_VERSION, b"", offset=offset + limit) if more else None
    return _Page(hits[:limit], _total(result), state)


@dataclass(frozen=True)
class _SortKey:
    """A fast field to sort by, descending, and how to turn its values into range bounds."""

    field: str
    kind: FieldType

    def bound(self, value: int) -> int | datetime:
        """A value as read from the fast field, as a range-query bound."""
        if self.kind == FieldType.Date:
            return EPOCH + timedelta(microseconds=value // _NS_PER_US)
        return value

    def stored(self, doc: tantivy.Document) -> int:
        """The doc's value as the fast field holds it (dates: ns, truncated to the second
        toward zero, as tantivy truncates)."""
        value: Any = doc.get_first(self.field)
        if self.kind != FieldType.Date:
            return int(value)
        ns = (cast(datetime, value) - EPOCH) // timedelta(microseconds=1) * _NS_PER_US
        seconds = ns // 10**9 if ns >= 0 else -(-ns // 10**9)
        return seconds * 10**9

    def valid(self, value: int) -> bool:
        """Whether a (cursor's) value can be a bound of this field's range queries."""
        if self.kind == FieldType.Date:
            return _DATE_NS[0] <= value <= _DATE_NS[1]
        return _I64[0] <= value <= _I64[1]

    def equal(self, schema: tantivy.Schema, value: int) -> Query:
        b = self.bound(value)
        return Query.range_query(schema, self.field, self.kind, b, b)

    def below(self, schema: tantivy.Schema, value: int) -> Query:
        b = self.bound(value)
        return Query.range_query(schema, self.field, self.kind, None, b, include_upper=False)


_RECENT = _SortKey(F_CREATED_AT, FieldType.Date)
_KEYS: dict[str, tuple[_SortKey, ...]] = {
    "recent": (_RECENT,),
    "engagement": (_SortKey(F_ENGAGEMENT, FieldType.Integer), _RECENT),
}
"""Sort keys, most significant first, all descending; ties then go by document address."""


@dataclass(frozen=True)
class _Hit:
    """A match and its sort values."""

    values: tuple[int, ...]
    address: tantivy.DocAddress


class _Reader:
    """The searcher of one request, and the stored documents it has read."""

    def __init__(self, schema: tantivy.Schema, searcher: tantivy.Searcher) -> None:
        self.schema = schema
        self.searcher = searcher
        self._docs: dict[tuple[int, int], tantivy.Document] = {}

    def doc(self, address: tantivy.DocAddress) -> tantivy.Document:
        key = _address_key(address)
        doc = self._docs.get(key)
        if doc is None:
            doc = self._docs[key] = self.searcher.doc(address)
        return doc


@dataclass(frozen=True)
class _Segment:
    """The matches of ``query`` in the order of ``keys``, after the first ``skip``."""

    query: Query
    keys: tuple[_SortKey, ...]
    skip: int = 0
    prefix: tuple[int, ...] = ()
    """Values of the keys before ``keys``, which ``query`` holds equal."""


@dataclass(frozen=True)
class _Run:
    hits: list[_Hit]
    more: bool
    """Whether the segment has matches after these."""
    total: int | None = None


def _keyset_page(
    r: _Reader,
    query: Query,
    keys: tuple[_SortKey, ...],
    limit: int,
    cursor: _Cursor | None,
) -> _Page:
    """Search-after pagination in the total order (keys desc, then address asc)."""
    if cursor is None:
        run = _first(r, _Segment(query, keys), limit, count=True)
        page, more, total = run.hits, run.more, run.total
    else:
        page, more, total = [], False, None
        for segment in _segments_after(r.schema, query, keys, cursor):
            run = _first(r, segment, limit - len(page))
            page += [_Hit(segment.prefix + h.values, h.address) for h in run.hits]
            if run.more:
                more = True
                break
    state = _keyset_cursor(page, cursor) if more and page else None
    return _Page([h.address for h in page], total, state)


def _segments_after(
    schema: tantivy.Schema, query: Query, keys: tuple[_SortKey, ...], cursor: _Cursor
) -> list[_Segment]:
    """What follows a cursor at sort values ``(v1, .., vk)``, in order.

    First the matches equal to it on every key (after the ``skip`` already
    returned, by address), then for j = k..1 the matches equal on keys
    1..j-1 and below ``vj`` on key j. Each is a range restriction, so a deep
    page costs what the first one does: only posts equal on every key are
    ever skipped.
    """
    values = cursor.key
    if values is None or len(values) != len(keys):
        raise InvalidParameter("cursor is not a valid cursor", "cursor")
    if not all(k.valid(v) for k, v in zip(keys, values, strict=True)):
        raise InvalidParameter("cursor is not a valid cursor", "cursor")
    equal = [k.equal(schema, v) for k, v in zip(keys, values, strict=True)]
    segments = [_Segment(_and(query, *equal), (), cursor.skip, tuple(values))]
    for j in reversed(range(len(keys))):
        below = _and(query, *equal[:j], keys[j].below(schema, values[j]))
        segments.append(_Segment(below, keys[j:], 0, tuple(values[:j])))
    return segments


def _first(r: _Reader, segment: _Segment, n: int, *, count: bool = False) -> _Run:
    """The first ``n`` matches of a segment in its order (``n`` may be 0: is there any?).

    One search ordered by the first key finds the hits. A value group that
    lies wholly in them is ordered by the next keys from the stored
    documents (which the page reads anyway); the group cut by the end, if
    any, is searched again for its first members.
    """
    if not segment.keys:
        return _by_address(r.searcher, segment.query, segment.skip, n)
    key = segment.keys[0]
    result = r.searcher.search(
        segment.query, n + 1, count=count, order_by_field=key.field, order=Order.Desc
    )
    found = sorted(((cast(int, v), a) for v, a in result.hits), key=_order_key)
    cut = found[n][0] if len(found) > n else None
    groups = _value_groups(found[:n])
    hits: list[_Hit] = []
    for value, addresses in groups:
        hits += _order_group(r, segment, value, addresses, complete=value != cut)
    return _Run(hits, cut is not None, _total(result) if count else None)


def _order_group(
    r: _Reader,
    segment: _Segment,
    value: int,
    addresses: list[tantivy.DocAddress],
    *,
    complete: bool,
) -> list[_Hit]:
    """The matches of one value group of the first key, ordered by the remaining keys."""
    key, rest = segment.keys[0], segment.keys[1:]
    if complete:
        hits = [_Hit((value, *(k.stored(r.doc(a)) for k in rest)), a) for a in addresses]
        return sorted(hits, key=_hit_order)
    group = _Segment(_and(segment.query, key.equal(r.schema, value)), rest)
    run = _first(r, group, len(addresses))
    return [_Hit((value, *h.values), h.address) for h in run.hits]


def _by_address(searcher: tantivy.Searcher, query: Query, skip: int, n: int) -> _Run:
    """Matches ``skip`` to ``skip + n`` in address order."""
    constant = Query.const_score_query(query, 1.0)
    hits = searcher.search(constant, skip + n + 1, count=False).hits
    addresses = sorted((a for _, a in hits), key=_address_key)
    found = [_Hit((), a) for a in addresses[skip : skip + n]]
    return _Run(found, len(addresses) > skip + n)


def _value_groups(
    found: list[tuple[int, tantivy.DocAddress]],
) -> list[tuple[int, list[tantivy.DocAddress]]]:
    """Runs of equal values, in order."""
    groups: list[tuple[int, list[tantivy.DocAddress]]] = []
    for value, address in found:
        if groups and groups[-1][0] == value:
            groups[-1][1].append(address)
        else:
            groups.append((value, [address]))
    return groups


def _keyset_cursor(page: list[_Hit], cursor: _Cursor | None) -> _Cursor:
    """The cursor after ``page``: its last sort values, and how many posts had exactly those."""
    last = page[-1].values
    here = sum(1 for h in page if h.values == last)
    continued = cursor is not None and cursor.key is not None and tuple(cursor.key) == last
    before = cursor.skip if continued and cursor is not None else 0
    return _Cursor(_CURSOR_VERSION, b"", key=list(last), skip=here + before)


def _address_key(address: tantivy.DocAddress) -> tuple[int, int]:
    return (address.segment_ord, address.doc)


def _order_key(hit: tuple[int, tantivy.DocAddress]) -> tuple[int, int, int]:
    return (-hit[0], *_address_key(hit[1]))


def _hit_order(hit: _Hit) -> tuple[int, ...]:
    return (*(-v for v in hit.values), *_address_key(hit.address))


# -------------------------------------------------------------------- items


def _items(
    r: _Reader, addresses: list[tantivy.DocAddress], text: TextQuery | None
) -> list[PostItem]:
    docs = [r.doc(a) for a in addresses]
    highlighter = _highlighter(r.schema, r.searcher, text, docs)
    return [_item(doc, highlighter) for doc in docs]


def _item(doc: tantivy.Document, highlighter: Highlighter | None) -> PostItem:
    uid = _str(doc, F_UID)
    text = _str(doc, F_TEXT)
    html_ = highlighter.html(doc, text) if highlighter is not None else ""
    return PostItem(
        id=uid.partition(":")[2],
        platform=_str(doc, F_PLATFORM),
        community=_opt_str(doc, F_COMMUNITY),
        created_at=_utc(cast(datetime, doc.get_first(F_CREATED_AT))),
        author=_str(doc, F_AUTHOR),
        text=text,
        snippet=html_ or _plain_snippet(text),
        hashtags=[str(t) for t in doc.get_all(F_TAGS)],
        likes=_int(doc, F_LIKES),
        reposts=_int(doc, F_REPOSTS),
        replies=_int(doc, F_REPLIES),
        quotes=_int(doc, F_QUOTES),
    )


def _str(doc: tantivy.Document, field: str) -> str:
    value: Any = doc.get_first(field)
    return "" if value is None else str(value)


def _opt_str(doc: tantivy.Document, field: str) -> str | None:
    value: Any = doc.get_first(field)
    return None if value is None else str(value)


def _int(doc: tantivy.Document, field: str) -> int:
    value: Any = doc.get_first(field)
    return 0 if value is None else int(value)


class Highlighter:
    """Snippets of one page: matched words in ``<b>``, the rest HTML-escaped.

    A text of at most :data:`SNIPPET_CHARS` characters comes back whole; a
    longer one as tantivy's best fragment. (tantivy measures fragments in
    UTF-8 bytes: 4 bytes a character at most.)
    """

    def __init__(self, schema: tantivy.Schema, searcher: tantivy.Searcher, query: Query) -> None:
        self._whole = tantivy.SnippetGenerator.create(searcher, query, schema, F_TEXT)
        self._whole.set_max_num_chars(4 * SNIPPET_CHARS)
        self._fragment = tantivy.SnippetGenerator.create(searcher, query, schema, F_TEXT)
        self._fragment.set_max_num_chars(SNIPPET_CHARS)

    def html(self, doc: tantivy.Document, text: str) -> str:
        """The highlighted snippet, or "" when nothing in the text matched."""
        if len(text) > SNIPPET_CHARS:
            return self._fragment.snippet_from_doc(doc).to_html()
        snippet = self._whole.snippet_from_doc(doc)
        ranges = sorted((r.start, r.end) for r in snippet.highlighted())
        return _mark(text.encode(), snippet.fragment_range().start, ranges) if ranges else ""


def _mark(data: bytes, base: int, ranges: list[tuple[int, int]]) -> str:
    """``data`` escaped with the byte ``ranges`` (relative to ``base``) in ``<b>``."""
    parts: list[str] = []
    pos = 0
    for start, end in ranges:
        parts.append(html.escape(data[pos : base + start].decode()))
        parts.append(f"<b>{html.escape(data[base + start : base + end].decode())}</b>")
        pos = base + end
    parts.append(html.escape(data[pos:].decode()))
    return "".join(parts)


def _plain_snippet(text: str) -> str:
    """The start of the text, escaped, cut at a space where possible."""
    if len(text) <= SNIPPET_CHARS:
        return html.escape(text)
    head = text[:SNIPPET_CHARS]
    space = head.rfind(" ")
    if space > SNIPPET_CHARS // 2:
        head = head[:space]
    return html.escape(head.rstrip()) + "…"


def _highlighter(
    schema: tantivy.Schema,
    searcher: tantivy.Searcher,
    text: TextQuery | None,
    docs: list[tantivy.Document],
) -> Highlighter | None:
    """A highlighter of the query's words and the typo variants found in ``docs``."""
    if text is None or not docs:
        return None
    words = _highlight_words(text, [_str(d, F_TEXT) for d in docs])
    if not words:
        return None
    query = Query.boolean_query(
        [(Occur.Should, Query.term_query(schema, F_TEXT, w)) for w in sorted(words)]
    )
    return Highlighter(schema, searcher, query)


def _highlight_words(text: TextQuery, texts: list[str]) -> set[str]:
    """Words to highlight: the query's own, plus the page's words within a fuzzy word's reach."""
    clauses = list(text.positive())
    words = {t for c in clauses for t in c.tokens}
    fuzzy = [(c.tokens[0], c.fuzzy) for c in clauses if c.fuzzy]
    if fuzzy:
        seen = {t for body in texts for t in analyze(body)} - words
        words |= {t for t in seen if any(osa_distance(t, w, d) <= d for w, d in fuzzy)}
    return words
