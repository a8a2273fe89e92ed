"""The indexer's error vocabulary.

IndexerError            anything that stops a command; str() is one line for the user
├── InputError          an input file is missing, unreadable or not in a known format
│   └── EmptyBuildError a build found no post to index (and --allow-empty was not given)
├── IndexLockedError    another indexer holds the index directory's lock
└── NoGenerationError   the index directory has no published generation yet
"""


class IndexerError(Exception):
    """A failure to report to the user as one line; nothing was published."""


class InputError(IndexerError):
    pass


class EmptyBuildError(InputError):
    pass


class IndexLockedError(IndexerError):
    pass


class NoGenerationError(IndexerError):
    pass
