"""How fast is hashtag extraction? Vectorised (polars) path vs a plain Python loop.

    uv run python bench/extract_speed.py [--posts 1000000] [--loop-posts N] [--seed 7]
        [--dump bench/out/posts-200000-s1.ndjson] [--baseline GIT_REF]

Times ``extract_hashtags_batch`` + ``tag_keys_batch`` against ``[extract_hashtags(t) for t in
texts]`` and prints posts/s for each, their ratio, and the share of rows the batch path hands
to Python (the fallback), on two sets of texts:

* synthetic but realistic posts (about 70% with 1-4 hashtags, some of them non-Latin, about 5%
  with URLs, the rest without tags), ``--posts`` of them;
* the ``text`` field of the benchmark dump ``--dump`` (NDJSON, read with polars; malformed
  lines are skipped), if the file exists. Make it with
  ``uv run python bench/gen.py --posts 200000 --seed 1 --dup-rate 0.01 --bad-rate 0.001
  --plant-trends --out bench/out/posts-200000-s1.ndjson``.

The first call of a process pays a one-time setup (polars compiles the regexes, the URL
regexes of the slow path are built if a row needs them): it is printed apart, with the import
time of the module. ``--baseline GIT_REF`` (say ``HEAD``) also runs ``indexer/extract.py`` as
it is at that commit, on the same texts, for a before/after comparison; both must agree.
The loop runs over ``--loop-posts`` texts (default: all) and is scaled to posts/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def words(text: str) -> list[str]:
    return text.split()


WORDS = words(
    "the a to of and in is it you that for on my this with be so just at me are have not "
    "but all your what do was like get out if can we now up new today day love time people "
    "good one more great why when about new year game live watch news world music best "
    "thanks happy last night week never back see think going really still big free"
)
OTHER_WORDS = words(
    "día año mañana café más über straße größe ça été jour très 今日 東京 ありがとう 日本語 "
    "новости москва привет сегодня 오늘 감사 서울 اليوم مرحبا شكرا आज नमस्ते วันนี้ Ελλάδα"
)
TAGS = words(
    "Python AI MachineLearning DataScience NFL NBA WorldCup BTS KPOP Brexit COVID19 GoT "
    "ClimateChange ThrowbackThursday TBT MondayMotivation love instagood photooftheday art "
    "travel food fitness music news Bitcoin crypto NFT Election2024 USA UK India "
    "JavaScript rustlang golang OpenSource 100DaysOfCode tech startup marketing SEO"
)
OTHER_TAGS = words(
    "日本 東京 拡散希望 ありがとう 방탄소년단 한국 Россия новости مصر السعودية भारत "
    "ประเทศไทย Türkiye España café Ελλάδα मुंबई"
)
EMOJI = ["😀", "🔥", "❤️", "👍", "🎉", "🙏", "😂", "✨", "🇺🇸", "👨\u200d💻"]


def make_post(rng: random.Random) -> str:
    words = [
        rng.choice(OTHER_WORDS) if rng.random() < 0.1 else rng.choice(WORDS)
        for _ in range(rng.randint(5, 25))
    ]
    if rng.random() < 0.15:
        words.insert(0, f"@user{rng.randint(1, 99999)}")
    if rng.random() < 0.2:
        words.insert(rng.randint(0, len(words)), rng.choice(EMOJI))
    roll = rng.random()
    if roll < 0.70:
        for _ in range(rng.randint(1, 4)):
            tag = rng.choice(OTHER_TAGS) if rng.random() < 0.15 else rng.choice(TAGS)
            if rng.random() < 0.3:
                tag = tag.lower()
            pos = len(words) if rng.random() < 0.6 else rng.randint(0, len(words))
            words.insert(pos, "#" + tag + ("," if rng.random() < 0.1 else ""))
    if roll > 0.97 or (roll < 0.70 and rng.random() < 0.03):  # about 5% of posts
        slug = "".join(rng.choice("abcdefghijkLMNOPQ0123456789") for _ in range(10))
        url = f"https://t.co/{slug}" if rng.random() < 0.7 else f"www.example.com/p/{slug}"
        words.append(url)
    if rng.random() < 0.01:  # the odd spelling the fast path leaves to Python
        words.append(rng.choice(["#one#two", "word#tag", "&#39;", "❤️#love", "x.com/#frag"]))
    text = " ".join(words)
    if rng.random() < 0.3:
        text += rng.choice([".", "!", "!!", "?", " …"])
    return text


def read_dump_texts(path: Path) -> pl.Series:
    """The ``text`` of each well-formed line of an NDJSON dump (malformed lines skipped)."""
    # One column per line: JSON holds no raw control character, so no field separator "\x1f".
    lines = pl.read_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        schema={"line": pl.String},
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    )["line"]
    # json_path_match gives null for a line that is no JSON or has no "text".
    return lines.str.json_path_match("$.text").drop_nulls().rename("text")


@dataclass
class Impl:
    name: str
    module: ModuleType
    import_s: float
    setup_s: float | None = None  # first call minus a warm call, once per process


def load_current() -> Impl:
    t0 = time.perf_counter()
    import indexer.extract as module

    return Impl("current", module, time.perf_counter() - t0)


def load_baseline(ref: str) -> Impl:
    """``indexer/extract.py`` as it is at git ``ref``, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{ref}:indexer/extract.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as f:
        f.write(source)
    name = "extract_baseline"
    spec = importlib.util.spec_from_file_location(name, f.name)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {ref}:indexer/extract.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    t0 = time.perf_counter()
    spec.loader.exec_module(module)
    import_s = time.perf_counter() - t0
    Path(f.name).unlink()
    return Impl(f"baseline {ref}", module, import_s)


def run_batch(impl: Impl, texts: pl.Series, repeat: int) -> pl.Series:
    """Time extract (+ keys) ``repeat`` times; print the runs, the median and the fallback."""
    ex = impl.module
    first_s = None
    if impl.setup_s is None:  # the process's first call: one-time setup included
        t0 = time.perf_counter()
        ex.extract_hashtags_batch(texts)
        first_s = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        tags: pl.Series = ex.extract_hashtags_batch(texts)
        t1 = time.perf_counter()
        keys = ex.tag_keys_batch(tags)
        t2 = time.perf_counter()
        runs.append((t1 - t0, t2 - t1))
    extract_s = sorted(r[0] for r in runs)[len(runs) // 2]
    keys_s = sorted(r[1] for r in runs)[len(runs) // 2]
    if first_s is not None:
        impl.setup_s = max(0.0, first_s - min(r[0] for r in runs))
    slow = int(ex.needs_slow_path(texts).sum())
    n = len(texts)
    print(
        f"  {impl.name:>16}: extract {extract_s:.3f} s ({n / extract_s:,.0f} posts/s,"
        f" best {min(r[0] for r in runs):.3f} s) + keys {keys_s:.3f} s"
        f" = {n / (extract_s + keys_s):,.0f} posts/s;"
        f" fallback to Python {slow:,} rows ({slow / n:.2%})"
    )
    if first_s is not None:
        print(
            f"  {'':>16}  one-time setup: import {impl.import_s:.3f} s,"
            f" first call +{impl.setup_s:.3f} s ({first_s:.3f} s)"
        )
    print(
        f"  {'':>16}  {int((tags.list.len() > 0).sum()) / n:.1%} of posts with tags,"
        f" {int(tags.list.len().sum()):,} tags, {int(keys.list.len().sum()):,} keys"
    )
    return tags


def bench(title: str, texts: pl.Series, impls: list[Impl], repeat: int, loop_posts: int) -> None:
    print(f"{title}: {len(texts):,} texts")
    results = [run_batch(impl, texts, repeat) for impl in impls]
    ex = impls[0].module
    n_loop = loop_posts or len(texts)
    sample = texts.head(n_loop).to_list()
    t0 = time.perf_counter()
    loop_tags = [ex.extract_hashtags(t) for t in sample]
    loop_s = time.perf_counter() - t0
    loop_rate = len(sample) / loop_s
    print(
        f"  python loop: extract_hashtags over {len(sample):,} posts {loop_s:.3f} s"
        f" -> {loop_rate:,.0f} posts/s"
    )
    if loop_tags != results[0].head(n_loop).to_list():
        raise SystemExit("batch and scalar results differ!")
    for impl, tags in zip(impls[1:], results[1:], strict=True):
        if not tags.equals(results[0]):
            raise SystemExit(f"{impl.name} and {impls[0].name} results differ!")
    agree = " and with each other" if len(impls) > 1 else ""
    print(f"  batch == scalar on the looped posts: yes{agree}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="synthetic posts (0: none)")
    parser.add_argument("--loop-posts", type=int, default=0, help="default: all posts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed batch runs (median shown)")
    parser.add_argument(
        "--dump",
        type=Path,
        default=ROOT / "bench" / "out" / "posts-200000-s1.ndjson",
        help="NDJSON benchmark dump whose texts are also timed (skipped if missing)",
    )
    parser.add_argument("--baseline", metavar="GIT_REF", help="also time extract.py at GIT_REF")
    args = parser.parse_args()

    impls = [load_current()]
    if args.baseline:
        impls.append(load_baseline(args.baseline))

    # The dump first, so that the one-time setup is measured on the texts of a real build.
    if args.dump.exists():
        t0 = time.perf_counter()
        texts = read_dump_texts(args.dump)
        print(f"read {args.dump} in {time.perf_counter() - t0:.1f} s")
        bench(f"dump {args.dump.name}", texts, impls, args.repeat, args.loop_posts)
    else:
        print(f"no dump at {args.dump}: skipped")

    if args.posts:
        rng = random.Random(args.seed)
        t0 = time.perf_counter()
        texts = pl.Series("text", [make_post(rng) for _ in range(args.posts)], dtype=pl.String)
        print(f"built {len(texts):,} synthetic posts in {time.perf_counter() - t0:.1f} s")
        bench("synthetic posts", texts, impls, args.repeat, args.loop_posts)


if __name__ == "__main__":
    main()
