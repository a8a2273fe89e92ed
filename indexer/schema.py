"""The on-disk index contract, declared once.

A generation is a directory holding a tantivy index of posts plus columnar
rollups (Arrow IPC and Parquet) computed by polars. The service imports this module and
nothing else of the indexer, and refuses a generation whose
``schema_version`` differs from :data:`SCHEMA_VERSION`.

Layout of one generation directory::

    manifest.json      Manifest (below), written last
    rejects.ndjson     one line per rejected input row: source, line, reason, raw
    posts/             tantivy index, one document per post (full text, filters)
    splits/<day>/      one UTC day (SPLIT_TABLES): its posts (Parquet, the record an
                       update rebuilds from) and the service's tables of them
    tags.arrow, keys.arrow, ranked.arrow, cooc.arrow, cooc-delta.arrow, codes.arrow,
    accounts.arrow, accounts-new.arrow, spellings.parquet
                       the tables over every day (GENERATION_TABLES): exact all-time
                       totals per tag, pairs of tags, ids and spellings

The service memory-maps the Arrow IPC files (uncompressed): nothing is loaded into a
worker's heap, and every worker shares the page cache. Every columnar file's columns
and dtypes are declared here (:data:`SPLIT_TABLES`, :data:`GENERATION_TABLES`); the
writers select exactly these columns and a test checks each written file against its
declaration.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import polars as pl
import pyarrow
import pyarrow.ipc
import tantivy

SCHEMA_VERSION = 4
"""The version of this contract; docs/architecture.md ("Schema versions") says what
each version changed."""

REBUILD_HINT = "rebuild it once with 'hashtag-index build' and all its inputs"
"""What to do with a generation of another schema version (said by every reader)."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Times are stored as microseconds since this instant (tantivy dates, Arrow ``TIME``)."""

UNKNOWN_LANG = "und"
"""The language of a post whose language is not known (BCP 47's "undetermined")."""
UNKNOWN_PLATFORM = "unknown"
"""The platform of a post whose input names none (``--platform``'s default)."""

INDEX_DIR_ENV = "HASHTAG_INDEX_DIR"
DEFAULT_INDEX_DIR = Path("var/index")


def default_index_dir() -> Path:
    """The index directory when none is given: ``$HASHTAG_INDEX_DIR`` or ``var/index``."""
    return Path(os.environ.get(INDEX_DIR_ENV) or DEFAULT_INDEX_DIR)


class SchemaMismatchError(ValueError):
    """A generation of another schema version; str() is one line saying what to do."""


def checked_manifest(generation_dir: Path, reader: str) -> Manifest:
    """The generation's manifest, or :class:`SchemaMismatchError` if it has another schema
    version; ``reader`` says who needs which version ("update needs", "this service reads")."""
    manifest = read_manifest(generation_dir)
    if manifest.schema_version != SCHEMA_VERSION:
        raise SchemaMismatchError(
            f"generation {manifest.generation} has schema version {manifest.schema_version}, "
            f"{reader} {SCHEMA_VERSION}: {REBUILD_HINT}"
        )
    return manifest


# The index directory: ``current`` is a symlink to the published generation's
# directory under ``generations/`` (see indexer/publish.py for how it is swapped).
CURRENT_LINK = "current"
GENERATIONS_DIR = "generations"

# Files of a generation.
MANIFEST_FILE = "manifest.json"
POSTS_INDEX_DIR = "posts"
REJECTS_FILE = "rejects.ndjson"

# --------------------------------------------------------------------------- tables

TIME = pl.Datetime("us", "UTC")
"""Every time column: UTC microseconds."""
NAMED_COUNTS = pl.List(pl.Struct({"name": pl.String(), "posts": pl.Int64()}))
"""Posts per platform or language of a tag: ``[{name, posts}]``, most posts first."""


class TableSpec(msgspec.Struct, frozen=True):
    """One columnar file of a generation: its path, columns and dtypes, and order."""

    file: str
    """Path relative to the generation directory."""
    columns: dict[str, pl.DataType]
    order: str
    """How its rows are ordered (what readers rely on)."""

    def frame(self) -> pl.DataFrame:
        """An empty frame of these columns."""
        return pl.DataFrame(schema=self.columns)


ID = pl.UInt32()
"""A tag's, account's, platform's or language's global id: ids are given in order and
never change or go away, so every split of every later generation can use them."""

SPLITS_DIR = "splits"

SPLIT_POSTS_RECORD = TableSpec(
    "posts.parquet",
    {
        "uid": pl.String(),
        "id": pl.String(),
        "platform": pl.String(),
        "created_at": TIME,
        "author": pl.String(),
        "lang": pl.String(),
        "community": pl.String(),
        "likes": pl.Int64(),
        "reposts": pl.Int64(),
        "replies": pl.Int64(),
        "quotes": pl.Int64(),
        "engagement": pl.Int64(),
        "tags": pl.List(pl.String()),
        "written": pl.List(pl.String()),
    },
    "uid: the day's posts, no text (what an update rewrites the day from)",
)
SPLIT_UIDS = TableSpec("uids.arrow", {"uid": pl.String()}, "uid")
SPLIT_POSTS = TableSpec(
    "posts.arrow",
    {"created_at": TIME, "platform": ID, "lang": ID, "post": ID},
    "created_at (then platform, lang, post): every post, tagged or not. ``post`` is the "
    "post's row in posts.parquet (and uids.arrow): how SPLIT_REMOVED names it",
)
SPLIT_POSTINGS = TableSpec(
    "postings.arrow",
    {
        "tag": ID,
        "created_at": TIME,
        "account": ID,
        "engagement": pl.Int64(),
        "platform": ID,
        "lang": ID,
        "post": ID,
    },
    "tag, then created_at (then the other columns): one tag's day is one slice",
)
SPLIT_SUMMARY = TableSpec(
    "summary.arrow",
    {
        "tag": ID,
        "posts": pl.Int64(),
        "authors": pl.Int64(),
        "engagement": pl.Int64(),
        "first_seen": TIME,
        "last_seen": TIME,
        "postings_start": pl.Int64(),
        "postings_len": pl.Int64(),
    },
    "tag: one row per tag used that day, counts of its live postings; its rows of "
    "postings.arrow are postings_start .. postings_start + postings_len (removed ones "
    "included, see SPLIT_REMOVED)",
)
SPLIT_TIMELINE = TableSpec(
    "timeline.arrow",
    dict(SPLIT_POSTINGS.columns),
    "created_at, then tag (then the other columns): a time window is one slice",
)
SPLIT_PAIRS = TableSpec(
    "pairs.arrow",
    {"key": pl.UInt64(), "posts": pl.Int64()},
    "key = tag << 32 | account: the day's postings of each (tag, account)",
)
SPLIT_TABLES = (
    SPLIT_POSTS_RECORD,
    SPLIT_UIDS,
    SPLIT_POSTS,
    SPLIT_POSTINGS,
    SPLIT_SUMMARY,
    SPLIT_TIMELINE,
    SPLIT_PAIRS,
)
"""The files of one split (a UTC day): Arrow IPC, uncompressed, polars' newest layout,
memory-mapped by the service; the Parquet record is the indexer's."""

SPLIT_REMOVED = TableSpec(
    "removed.arrow",
    {"post": ID},
    "post: rows of posts.parquet that are gone (replaced or deleted) since the day was "
    "written. Only in a split an update patched instead of rewriting (a day that lost a "
    "few posts and gained none): every reader leaves these posts' rows out; summary.arrow "
    "and pairs.arrow are already without them; compact rewrites the day without them",
)


TAGS_TABLE = TableSpec(
    "tags.arrow",
    {
        "tag": pl.String(),
        "display": pl.String(),
        "posts": pl.Int64(),
        "authors": pl.Int64(),
        "engagement": pl.Int64(),
        "first_seen": TIME,
        "last_seen": TIME,
        "platforms": NAMED_COUNTS,
        "langs": NAMED_COUNTS,
        "cooc_start": pl.Int64(),
        "cooc_len": pl.Int64(),
    },
    "tag id: row i is tag i, with exact all-time totals; a tag whose posts all went "
    "(deleted, or replaced without it) stays with posts 0. Its pairs are COOC_TABLE rows "
    "cooc_start .. cooc_start + cooc_len",
)
KEYS_TABLE = TableSpec("keys.arrow", {"tag": pl.String(), "id": ID}, "tag key (byte order)")
RANKED_TABLE = TableSpec(
    "ranked.arrow", {"id": ID}, "tags with posts, by posts (desc), then tag key"
)
COOC_TABLE = TableSpec(
    "cooc.arrow",
    {"key": pl.UInt64(), "co_posts": pl.Int64()},
    "key = tag << 32 | other (ids), both orders of each pair: one tag's pairs are one "
    "slice, and an update merges its changes in by binary search, not a rewrite by sort",
)
COOC_DELTA_TABLE = TableSpec(
    "cooc-delta.arrow",
    {"key": pl.UInt64(), "co_posts": pl.Int64()},
    "key: the pair changes since cooc.arrow was written (a count may be negative; a "
    "pair's count is its row there plus its row here). An update rewrites this small "
    "file, not cooc.arrow, until it passes a share of it (a generation of schema 4 "
    "written before it existed has none: no changes)",
)
CODES_TABLE = TableSpec(
    "codes.arrow",
    {"kind": pl.String(), "name": pl.String(), "code": ID},
    "kind ('platform', 'lang'), then code (the order names were first seen in)",
)
ACCOUNTS_TABLE = TableSpec(
    "accounts.arrow",
    {"platform": pl.String(), "author": pl.String(), "account": ID},
    "platform, author: an author is a (platform, author) pair, its account id given once; "
    "sorted so that an update finds its posts' authors by binary search",
)
ACCOUNTS_NEW_TABLE = TableSpec(
    "accounts-new.arrow",
    {"platform": pl.String(), "author": pl.String(), "account": ID},
    "platform, author: the accounts given since accounts.arrow was written (an update "
    "rewrites this small file, not accounts.arrow, until it passes a share of it)",
)
LEGACY_ACCOUNTS_FILE = "accounts.parquet"
"""Where a generation of schema 4 written before accounts.arrow kept its accounts (by
account id); read when accounts.arrow is missing, so no rebuild is needed."""
SPELLINGS_TABLE = TableSpec(
    "spellings.parquet",
    {"tag": ID, "written": pl.String(), "n": pl.Int64()},
    "tag, then written: posts per spelling (the display is the most frequent)",
)
GENERATION_TABLES = (
    TAGS_TABLE,
    KEYS_TABLE,
    RANKED_TABLE,
    COOC_TABLE,
    COOC_DELTA_TABLE,
    CODES_TABLE,
    ACCOUNTS_TABLE,
    ACCOUNTS_NEW_TABLE,
    SPELLINGS_TABLE,
)
"""The generation-wide tables: sized by the vocabulary and the authors, not the posts."""


# Names of the analyzers registered on every opened index.
TEXT_ANALYZER = "folded"
"""Simple tokenizer, lowercase, ASCII folding: ``cafe`` finds ``café``."""

# tantivy fields of the posts index.
F_UID = "uid"  # "platform:id", raw, stored: the identity used to delete/replace a post
F_PLATFORM = "platform"
F_CREATED_AT = "created_at"
F_AUTHOR = "author"
F_TEXT = "text"
F_TAGS = "tags"  # tag keys, raw, multi-valued, fast
F_LANG = "lang"
F_COMMUNITY = "community"  # as written, stored: a post has none or one (a list of 0 or 1)
F_COMMUNITY_KEY = "community_key"  # community_key() of it, raw, indexed, fast: the filter
F_LIKES = "likes"
F_REPOSTS = "reposts"
F_REPLIES = "replies"
F_QUOTES = "quotes"
F_ENGAGEMENT = "engagement"
F_SEQ = "_seq"  # i64, indexed only: the row's number among all accepted rows, to delete copies
# (a build numbers its rows from 0; an update goes on from its parent's count of
# accepted rows, so a chain of updates numbers rows as one build of all inputs would)
COUNT_FIELDS = (F_LIKES, F_REPOSTS, F_REPLIES, F_QUOTES)

# Maximum number of tag keys of one post that enter co-occurrence pairs
# (a post with k tags makes k*(k-1)/2 pairs; spam with 50 tags would dominate).
COOC_MAX_TAGS = 12


def tag_key(tag: str) -> str:
    """The tag key of a tag as written (sign stripped): NFKC, then full case folding.

    Every count, URL and CSV row is per tag key (``Straße`` -> ``strasse``).
    """
    return unicodedata.normalize("NFKC", tag.lstrip("#＃")).casefold()


def community_key(community: str) -> str:
    """The key a community is matched by: NFKC, case folded, without Reddit's ``r/``.

    Community names are case-insensitive where they exist (a subreddit is one
    community however it is capitalised), so ``Python``, ``python`` and
    ``r/Python`` are one key, ``python``. The display is the name as written.
    """
    key = unicodedata.normalize("NFKC", community).strip().casefold()
    for prefix in ("/r/", "r/"):
        if key.startswith(prefix):
            return key[len(prefix) :].strip()
    return key


def build_posts_schema() -> tantivy.Schema:
    """The tantivy schema of the posts index.

    A post's id is not a field of its own: ``uid`` is ``platform:id`` and
    the platform is the part before the first colon.
    """
    sb = tantivy.SchemaBuilder()
    sb.add_text_field(F_UID, stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(
        F_PLATFORM, stored=True, fast=True, tokenizer_name="raw", index_option="basic"
    )
    # Fast only: range filters run on the fast field (Query.range_query's default),
    # which measured ~15% faster to index than also keeping an inverted index.
    sb.add_date_field(F_CREATED_AT, stored=True, indexed=False, fast=True)
    sb.add_text_field(F_AUTHOR, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(F_TEXT, stored=True, tokenizer_name=TEXT_ANALYZER, index_option="position")
    sb.add_text_field(F_TAGS, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(F_LANG, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    # The community twice: as written (stored, for results; a text field is always
    # indexed, so raw/basic keeps that cheap) and by key (the case-insensitive filter).
    # Both are lists in the document: empty when the post has no community.
    sb.add_text_field(F_COMMUNITY, stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field(
        F_COMMUNITY_KEY, stored=False, fast=True, tokenizer_name="raw", index_option="basic"
    )
    for name in (*COUNT_FIELDS, F_ENGAGEMENT):
        sb.add_integer_field(name, stored=True, indexed=False, fast=True)
    sb.add_integer_field(F_SEQ, stored=False, indexed=True, fast=False)
    return sb.build()


def text_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(100))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def open_posts_index(generation_dir: Path, *, create: bool = False) -> tantivy.Index:
    """Open (or create, in an empty directory) the posts index of a generation.

    Always use this: tantivy does not persist custom analyzers, so every
    opener must register them, and ``tantivy.Index(schema, path)`` on an
    existing index would wipe it.
    """
    path = generation_dir / POSTS_INDEX_DIR
    if create:
        path.mkdir(parents=True, exist_ok=False)
        index = tantivy.Index(build_posts_schema(), str(path), reuse=False)
    else:
        index = tantivy.Index.open(str(path))
    index.register_tokenizer(TEXT_ANALYZER, text_analyzer())
    return index


class SourceInfo(msgspec.Struct, kw_only=True):
    """One input file of a generation."""

    path: str
    format: str
    bytes: int
    sha256: str
    rows: int
    """Rows read (accepted + rejected)."""
    rejected: int
    deletes: int = 0
    """Delete events read (e.g. Bluesky ``delete`` commits); not rows."""
    skipped: dict[str, int] = msgspec.field(default_factory=dict)
    """Native records that are not posts (likes, identity events, Bluesky reposts, X
    stream notices, reposts under ``--reposts exclude``...), by reason; not rows."""
    notes: dict[str, int] = msgspec.field(default_factory=dict)
    """Rows read with an adjustment (e.g. a retweet counted as the reposter's post),
    by adjustment; these rows are in ``rows``."""


class SplitInfo(msgspec.Struct, kw_only=True):
    """One time split of a generation (indexer/splits.py)."""

    day: date
    """The UTC day its posts were created on."""
    path: str
    """Its directory, relative to the generation's."""
    posts: int
    postings: int
    """(post, tag key) rows."""
    written_by: str
    """The generation that wrote it; later ones hard-link its files."""


class Manifest(msgspec.Struct, kw_only=True):
    """What a generation holds; ``manifest.json``."""

    generation: str
    schema_version: int
    built_at: datetime
    posts: int
    """Distinct posts indexed, after dedup by (platform, id).

    Every count is over the whole generation: ``build A`` then ``update B``
    gives the same manifest counts (and tables) as ``build A B``."""
    tags: int
    """Distinct tag keys."""
    read: int
    """Rows read from all sources, accepted or not."""
    duplicates: int
    """Accepted rows replaced by a later copy of the same (platform, id):
    ``read - rejected - deleted - posts``, over every source (an update's later copy
    of a post of its parent counts too, as in one build of all the sources)."""
    rejected: int
    """Rows written to the rejects file instead of the index."""
    deleted: int = 0
    """Posts removed by a delete event read after them (each such event removes the
    copies of its post read before it; a copy read after it survives)."""
    deletes_unmatched: int = 0
    """Delete events of a post not indexed at that point (never seen, or already deleted)."""
    skipped: int = 0
    """Native records skipped as not posts, over every source (the sum of the sources'
    ``skipped``); not rows, so not in ``read``."""
    from_: datetime | None = msgspec.field(name="from")
    """created_at of the oldest post."""
    to: datetime | None
    """created_at of the newest post."""
    sources: list[SourceInfo]
    """Every input ingested, in order: an update's are its parent's plus its own."""
    seconds: float
    """Wall time of the whole build (of an update: of this run only)."""
    stage_seconds: dict[str, float] = msgspec.field(default_factory=dict)
    """Wall time of each pass (build: read+index, dedup+commit, rollups;
    update: read, dedup, index, rollups)."""
    stage_peak_rss_mib: dict[str, int] = msgspec.field(default_factory=dict)
    """The process's peak resident memory at the end of each pass (MiB)."""
    parent: str | None = None
    """The generation this one was updated from (``update``), if any."""
    splits: list[SplitInfo] = msgspec.field(default_factory=list)
    """Its time splits, by day."""


def map_ipc(path: Path) -> pl.DataFrame:
    """An Arrow IPC file written by the indexer, memory-mapped: polars reads it without a
    copy (pyarrow maps it; the frame's buffers are the file's pages, shared by every
    process that maps it). Reading a row touches only its pages."""
    table = pyarrow.ipc.open_file(pyarrow.memory_map(str(path))).read_all()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def current_generation_dir(index_dir: Path) -> Path | None:
    """The published generation's directory, or None if nothing is published."""
    try:
        target = os.readlink(index_dir / CURRENT_LINK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = (index_dir / target).resolve()
    return path if (path / MANIFEST_FILE).is_file() else None


def read_manifest(generation_dir: Path) -> Manifest:
    return msgspec.json.decode((generation_dir / MANIFEST_FILE).read_bytes(), type=Manifest)


def encode_manifest(manifest: Manifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n"
