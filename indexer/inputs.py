"""Which files are the inputs: files named, globs and directories expanded, in order.

A directory is read recursively; a file in it is an input when its name ends in a
suffix of a registered format (:mod:`indexer.formats.registry`, optionally compressed),
or is compressed with no suffix inside (its format is detected from its content). Dot
files and documentation are passed over quietly, anything else with a warning, and so
are symbolic links that lead out of the directory (unless asked to follow them).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path

from indexer.errors import InputError
from indexer.formats import registry
from indexer.sources import COMPRESSIONS, compression_of

EXTENSION_FORMATS = {s: f.name for f in registry.FORMATS for s in f.suffixes}
"""File-name suffix (before a compression's) -> the format whose files have it."""


_DOC_NAMES = frozenset({"README", "LICENSE", "LICENCE", "COPYING"})
"""Names (before the first dot, any case) of files a directory scan passes over quietly."""


_DOC_SUFFIXES = frozenset({".md", ".markdown", ".rst"})
"""Documentation files, which a directory scan also passes over quietly."""


_EXTENSION = re.compile(r"\.[a-z][a-z0-9]{0,5}")
"""What counts as a file-name extension (``.txt``, ``.tar``, ``.bz2``; not ``.2015-01``)."""


PASSED_OVER_SHOWN = 3
"""How many of the files a directory scan leaves out its notice names."""


Warn = Callable[[str], None]
"""Receives a warning: one line for the user (stderr), not an error."""


def expand_inputs(
    inputs: list[str], warn: Warn | None = None, *, follow_symlinks: bool = False
) -> list[Path]:
    """Files named directly, found under directories (recursively) or by globs, in order.

    Within a directory or glob, files are sorted by path so that builds are
    repeatable and "the later copy wins" means the later path. A file named
    directly or matched by a glob is always read. In a directory (see
    :func:`directory_entry`), dot files and dot directories, and documentation
    (README, LICENSE, LICENCE, COPYING, ``*.md``, ``*.rst``) are passed over quietly;
    any other file not read is named to ``warn``, one line per directory: nothing
    is left out silently. A symbolic link in a directory that leads out of it (to a
    file or a directory elsewhere) is passed over, and named to ``warn``, unless
    ``follow_symlinks``: a directory scan reads what is in the directory.
    """
    files: list[Path] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            found: list[Path] = []
            passed: list[Path] = []
            scanned, outside = scan_directory(path, follow_symlinks)
            for p in scanned:
                kind = directory_entry(p.relative_to(path))
                if kind == "data":
                    found.append(p)
                elif kind == "other":
                    passed.append(p.relative_to(path))
            left = [_passed_over(passed)] if passed else []
            if outside:
                left.append(_links_out(path, outside))
            if not found:
                more = f" ({'; '.join(left)})" if left else ""
                raise InputError(f"{spec}: directory holds no input files{more}")
            if passed and warn is not None:
                warn(f"{spec}: {_passed_over(passed)}; name a file to read it")
            if outside and warn is not None:
                warn(f"{spec}: {_links_out(path, outside)}; pass --follow-symlinks to read them")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(spec):
            matched = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not matched:
                raise InputError(f"{spec}: no file matches this pattern")
            files.extend(matched)
        else:
            raise InputError(f"{spec}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def scan_directory(root: Path, follow_symlinks: bool = False) -> tuple[list[Path], list[Path]]:
    """(the files under ``root``, sorted by path; the symbolic links passed over).

    Without ``follow_symlinks``, a link (to a file or a directory) is followed only when it
    leads to a place inside ``root``; one that leads out of it is passed over (a link to a
    directory inside is passed over quietly: what it holds is found in its place). With
    ``follow_symlinks`` every link is followed, each directory visited once (no cycles).
    Dangling links are no files."""
    inside = root.resolve()
    files: list[Path] = []
    outside: list[Path] = []
    visited = {inside}
    for top, dirs, names in os.walk(root, followlinks=follow_symlinks):
        here = Path(top)
        kept = []
        for name in dirs:
            sub = here / name
            real = sub.resolve()
            if not follow_symlinks and sub.is_symlink():
                if not real.is_relative_to(inside):
                    outside.append(sub)
                continue
            if real not in visited:
                visited.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in names:
            p = here / name
            if not p.is_file():
                continue  # a dangling link, a socket, a fifo
            if p.is_symlink() and not follow_symlinks and not p.resolve().is_relative_to(inside):
                outside.append(p)
                continue
            files.append(p)
    return sorted(files), sorted(outside)


def _links_out(root: Path, links: list[Path]) -> str:
    shown = ", ".join(
        f"{p.relative_to(root).as_posix()} -> {os.readlink(p)}" for p in links[:PASSED_OVER_SHOWN]
    )
    more = ", ..." if len(links) > PASSED_OVER_SHOWN else ""
    what = "symbolic link" if len(links) == 1 else "symbolic links"
    return f"passed over {len(links)} {what} leading out of the directory ({shown}{more})"


def _passed_over(passed: list[Path]) -> str:
    shown = ", ".join(p.as_posix() for p in passed[:PASSED_OVER_SHOWN])
    more = ", ..." if len(passed) > PASSED_OVER_SHOWN else ""
    files = "file" if len(passed) == 1 else "files"
    return f"passed over {len(passed)} {files} not named like data ({shown}{more})"


def directory_entry(relative: Path) -> str:
    """What a directory scan does with a file (its path below the directory):

    - ``"data"``: read it. Its name ends in a data suffix (``.ndjson``, ``.jsonl``,
      ``.json``, ``.csv``, ``.parquet``, ``.pq``), optionally followed by ``.gz`` or
      ``.zst``; or it is ``.gz``/``.zst`` and the name inside has no extension
      (Pushshift's ``RC_2015-01.zst``): its format is detected from its content;
    - ``"ignored"``: pass over quietly: dot files, anything under a dot directory,
      documentation: README, LICENSE, LICENCE and COPYING files (any extension, any
      case), ``.md``, ``.markdown`` and ``.rst`` files;
    - ``"other"``: pass over, and say so.
    """
    if any(part.startswith(".") for part in relative.parts):
        return "ignored"
    if format_from_name(relative) is not None:
        return "data"
    if (
        relative.name.split(".", 1)[0].upper() in _DOC_NAMES
        or relative.suffix.lower() in _DOC_SUFFIXES
    ):
        return "ignored"
    if compression_of(relative) is not None:
        inner = relative.with_suffix("").suffix.lower()
        if not _EXTENSION.fullmatch(inner):
            return "data"
    return "other"


def format_from_name(path: Path) -> str | None:
    """The format whose files have this name's suffix (before a compression's), if any."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return EXTENSION_FORMATS.get(suffixes[-1]) if suffixes else None
