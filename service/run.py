"""Run the service under granian (measured fastest here: see docs/architecture.md)."""

from __future__ import annotations

import os
from pathlib import Path

from granian import Granian
from granian.constants import Interfaces


def serve(index_dir: Path, host: str, port: int, workers: int) -> None:
    os.environ["HASHTAG_INDEX_DIR"] = str(index_dir)
    Granian(
        "service.app:app_from_env",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
    ).serve()
