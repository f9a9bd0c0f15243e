"""Loading shared reference data once per process, however many request threads ask at once.

``functools.lru_cache`` does not stop concurrent first calls: under load every request thread of a
fresh worker (30 per worker: the pool's size, ADR 0009) found the cache empty and loaded the dm+d
dictionary itself — 30 parses of a 1 MB gzip CSV at once, half of all the workers' time in the
first minute of issue 20's load run (py-spy). :func:`load_once` lets one thread load and the
others wait for its result.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Once(Generic[T]):
    def __init__(self, load: Callable[[], T]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None
        functools.update_wrapper(self, load)

    def __call__(self) -> T:
        if not self._done:
            with self._lock:
                if not self._done:
                    self._value = self._load()
                    self._done = True
        return self._value  # type: ignore[return-value]  # set above, once

    @property
    def loaded(self) -> bool:
        return self._done

    def cache_clear(self) -> None:
        with self._lock:
            self._done = False
            self._value = None


def load_once(load: Callable[[], T]) -> _Once[T]:
    """Decorate a loader that takes no arguments: the first call loads, concurrent first calls
    wait for it, later calls return the same object; ``.cache_clear()`` forgets it (tests)."""
    return _Once(load)
