"""``--ray ADDRESS``: a build's reading, indexing and splits as Ray tasks, by the local
build's code (and an update's reading, and compact's rewrites).

Ray is optional (``pip install 'hashtag-index[ray]'``) and imported only here, only
when ``--ray`` is given. Against the local build (indexer/build.py), stage by stage:

1. read    one task per byte range of a big uncompressed JSON-lines file (cut at
           line ends), per file, or per run of small files (:func:`.units.plan_tasks`)
           runs :func:`~indexer.reading.read_file` (the local build's own reader,
           validator and tagger) into a spool of its own, by day and with the text,
           moved into the build's spool at its end. The n-th task's accepted rows
           are numbered from ``n << SEQ_SHIFT``: ordered and unique as the local
           build's, so "the later copy wins" and "a delete removes the copies read
           before it" mean the same. The driver concatenates the rejects in input
           order, their line numbers made the files'.
2. dedup   a shuffle by post identity: the read tasks also spool each post's
           ``uid, _seq`` by uid hash bucket, and a task per bucket runs the local
           build's ``losers_among`` and ``delete_effects`` over it.
3. index   a task per run of days indexes the posts that survived into a tantivy
           index of its own (:mod:`.indexing`); the driver joins the parts' segment
           lists into the generation's index (indexer/segments.py): no document is
           indexed twice, no loser at all, and the driver never commits (a commit
           would merge every part's segments on it).
4. rollups each day's posts are read from the spool by a task for its vocabulary
           (tag keys, authors, platforms, languages), which the driver numbers in day
           order as the local build does; then each day's split is written by a task
           with the local build's :func:`~indexer.globals.write_new_day`
           (:class:`.days.RayDays`), and the driver adds their sums up into the
           generation-wide tables as the local build does.

``update --ray`` runs stage 1 only, without tantivy (:func:`read_into_spool`: an update
indexes the posts that survive its dedup itself, and its other work follows the new
data), and ``compact --ray`` rewrites each patched day as a task (:func:`rewrite_days`).

Every task writes into the generation directory under construction, so on a cluster
the index directory must be storage that every node sees (NFS, a shared volume).
A task is idempotent (it clears what an earlier attempt of it left), so Ray may retry
it after a lost worker; an error of the input (a bad file) is not retried, and any
failure leaves the published generation as it was: the driver publishes only at the end.

The package: :mod:`.build` runs stages 1-3, :mod:`.cluster` joins Ray and runs
tasks a window at a time, :mod:`.units` cuts the inputs into tasks, :mod:`.reading`
the read tasks, :mod:`.dedup` the shuffle by post identity, :mod:`.indexing` the
index tasks, :mod:`.days` the day tasks (and compact's).
"""

from indexer.distributed.cluster import TASK_SECONDS, connected
from indexer.distributed.days import RayDays, rewrite_days
from indexer.distributed.dedup import dedup
from indexer.distributed.reading import read_into_spool

__all__ = [
    "TASK_SECONDS",
    "RayDays",
    "connected",
    "dedup",
    "read_into_spool",
    "rewrite_days",
]
