"""The one cache type for status-dependent values: per process, valid for one status generation.

Everything a verdict or a page depends on besides the stamp row itself (a lot's recall, the
product's current certificate, the voids of the lot's requests, the public product facts)
changes only through a use case that moves the *status generation* (services.status_events).
So a process keeps such values in memory, tagged with the generation it read *before* loading
them from the database, and drops them all when a request sees another generation. The
generation is read once per request (services.status_events.read_generation), which is what
makes a revocation visible on the very next request in every worker.

A value loaded under generation g reflects at least the state of g (the generation is read
first and bumped only after a change commits), so caching it under g never hides a change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_MAX_ITEMS = 20_000


class GenerationCache(Generic[V]):
    """Bounded (least recently used out), thread-safe; ``generation=None`` means "do not cache"."""

    def __init__(self, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.max_items = max_items
        self._generation: Hashable | None = None
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_load(self, generation: Hashable | None, key: Hashable, load: Callable[[], V]) -> V:
        """The value of ``key`` under ``generation``, loaded (outside the lock) when missing."""
        if generation is None:
            return load()
        with self._lock:
            if generation != self._generation:
                self._items.clear()
                self._generation = generation
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        value = load()
        with self._lock:
            if generation == self._generation:  # a newer generation arrived meanwhile: do not keep it
                self._items[key] = value
                if len(self._items) > self.max_items:
                    self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)
