"""The ``hashtag-index`` command line, on top of the two halves it drives.

``indexer`` writes generations and ``service`` reads them; this package imports both
and neither imports it (``tests/test_project_rules.py`` keeps it so). Start at
:mod:`hashtag_index.cli`.
"""
