"""Reproducible fault injection, so tests and the soak can replay the same bad day."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable

from pydantic import BaseModel, Field


class FaultConfig(BaseModel):
    """What `POST /_sandbox/faults` accepts."""

    probability: float = Field(default=0.0, ge=0.0, le=1.0)
    kinds: list[str] = Field(default_factory=list)
    seed: int | None = None
    slow_seconds: float = Field(default=35.0, ge=0.0)
    limit: int | None = Field(
        default=None,
        ge=0,
        description="Inject at most this many faults, then none (a test can fault exactly one request).",
    )


class FaultInjector:
    """Draws faults with a configured probability from a seeded generator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._random = random.Random()
        self._injected = 0

    @property
    def config(self) -> FaultConfig:
        return self._config

    @property
    def injected(self) -> int:
        """Faults drawn since the last ``configure``."""
        with self._lock:
            return self._injected

    def configure(self, cfg: FaultConfig) -> None:
        with self._lock:
            self._config = cfg
            self._random = random.Random(cfg.seed)
            self._injected = 0

    def draw(self, allowed: Iterable[str]) -> str | None:
        """Return a fault kind to inject on this request, or None.

        Only kinds that the endpoint can meaningfully produce (``allowed``) are drawn,
        so a read never gets a commit-then-drop and a query never gets a 5010.
        """
        with self._lock:
            candidates = [kind for kind in self._config.kinds if kind in set(allowed)]
            limit = self._config.limit
            if not candidates or (limit is not None and self._injected >= limit):
                return None
            if self._random.random() >= self._config.probability:
                return None
            self._injected += 1
            return self._random.choice(candidates)
