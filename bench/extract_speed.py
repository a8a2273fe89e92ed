"""How fast is hashtag extraction? Vectorised (polars) path vs a plain Python loop.

    uv run python bench/extract_speed.py [--posts 1000000] [--loop-posts N] [--seed 7]

Builds synthetic but realistic post texts (about 70% with 1-4 hashtags, some of them
non-Latin, about 5% with URLs, the rest without tags), then times
``extract_hashtags_batch`` + ``tag_keys_batch`` against ``[extract_hashtags(t) for t in texts]``
and prints posts/s for each, their ratio, and the share of rows the batch path handed to Python.
The loop runs over ``--loop-posts`` texts (default: all) and is scaled to posts/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.extract import (
    extract_hashtags,
    extract_hashtags_batch,
    needs_slow_path,
    tag_keys_batch,
)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--loop-posts", type=int, default=0, help="default: all posts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed batch runs (median shown)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    texts = pl.Series("text", [make_post(rng) for _ in range(args.posts)], dtype=pl.String)
    print(f"built {len(texts):,} posts in {time.perf_counter() - t0:.1f} s")

    # Warm up: polars compiles each regex on first use, the URL regexes are built lazily.
    tag_keys_batch(extract_hashtags_batch(texts.head(20_000)))
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        tags = extract_hashtags_batch(texts)
        t1 = time.perf_counter()
        keys = tag_keys_batch(tags)
        t2 = time.perf_counter()
        runs.append((t2 - t0, t1 - t0, t2 - t1))
        print(
            f"batch:  extract {t1 - t0:.3f} s + keys {t2 - t1:.3f} s = {t2 - t0:.3f} s"
            f" -> {len(texts) / (t2 - t0):,.0f} posts/s"
        )
    batch_s = sorted(runs)[len(runs) // 2][0]
    slow = int(needs_slow_path(texts).sum())
    print(
        f"batch median of {len(runs)}: {batch_s:.3f} s -> {len(texts) / batch_s:,.0f} posts/s"
        f" (best {len(texts) / min(runs)[0]:,.0f} posts/s);"
        f" {int((tags.list.len() > 0).sum()) / len(texts):.1%} of posts with tags,"
        f" {int(tags.list.len().sum()):,} tags, {int(keys.list.len().sum()):,} keys"
    )
    print(f"fallback to Python: {slow:,} rows ({slow / len(texts):.2%})")

    n_loop = args.loop_posts or len(texts)
    sample = texts.head(n_loop).to_list()
    t0 = time.perf_counter()
    loop_tags = [extract_hashtags(t) for t in sample]
    loop_s = time.perf_counter() - t0
    loop_rate = len(sample) / loop_s
    print(
        f"python: extract_hashtags loop over {len(sample):,} posts {loop_s:.3f} s"
        f" -> {loop_rate:,.0f} posts/s"
    )
    print(f"ratio:  batch (extract + keys) is {len(texts) / batch_s / loop_rate:.1f}x the loop")
    if loop_tags != tags.head(n_loop).to_list():
        raise SystemExit("batch and scalar results differ!")
    print("batch == scalar on the looped posts: yes")


if __name__ == "__main__":
    main()
