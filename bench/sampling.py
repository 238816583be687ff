"""A query repeated on its own connection in a background thread while a benchmark's load runs beside it."""

from __future__ import annotations

import threading
import time

import psycopg

from harness.postgres import Cluster


class Sampler:
    """Calls `sample(db)` every `interval` seconds from entering the block until leaving it; subclasses keep
    what they measure (a peak, a longest wait) as attributes read after the block."""

    def __init__(self, cluster: Cluster, database: str = "postgres", interval: float = 0.01) -> None:
        self.cluster, self.database, self.interval = cluster, database, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def setup(self, db: psycopg.Connection) -> None:
        """Once, before the first sample."""

    def sample(self, db: psycopg.Connection) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        with self.cluster.connect(self.database, autocommit=True) as db:
            self.setup(db)
            while not self._stop.is_set():
                self.sample(db)
                time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
