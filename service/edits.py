"""Edit distance: how many edits apart two words are, up to a limit.

One home for the near-miss tags (``service.tags``) and the search's typo highlights
(``service.search``): both count optimal string alignment edits, as tantivy's fuzzy
term queries do with ``transposition_cost_one``.
"""

from __future__ import annotations


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions), capped:
    any distance above ``limit`` is ``limit + 1``. Only the diagonal band of width
    ``2 * limit + 1`` is computed, and it stops as soon as the band exceeds ``limit``."""
    big = limit + 1
    if abs(len(a) - len(b)) > limit:
        return big
    m = len(b)
    prev2: list[int] = []
    prev = [min(j, big) for j in range(m + 1)]
    for i in range(1, len(a) + 1):
        cur = [big] * (m + 1)
        cur[0] = min(i, big)
        for j in range(max(1, i - limit), min(m, i + limit) + 1):
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = min(value, big)
        if min(cur) >= big:
            return big
        prev2, prev = prev, cur
    return prev[m]
