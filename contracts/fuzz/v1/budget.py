"""The media budget of a v1 run: Hume bills v1 by media seconds, at least 10 s for every run with media
(docs/billing), so every upload and session the fuzzer sends media in is charged here first, and refused
when ``--max-media-seconds`` would be passed."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MINIMUM_PER_RUN = 10.0  # documented: a run with any media is billed at least 10 s
VIDEO_FRAME_SECONDS = 1 / 3  # documented: a frame or image is metered as a third of a second
AUDIO_BYTES_PER_SECOND = 32_000  # 16 kHz s16le mono


def audio_seconds(size: int) -> float:
    return size / AUDIO_BYTES_PER_SECOND


def billed(seconds: float) -> float:
    """What a run of ``seconds`` of media is billed (nothing when it had none)."""
    return max(MINIMUM_PER_RUN, seconds) if seconds > 0 else 0.0


@dataclass
class MediaBudget:
    limit: float
    spent: float = 0.0
    runs: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, seconds: float) -> bool:
        """Reserve what a run of ``seconds`` of media is billed; False (nothing reserved) past the limit."""
        cost = billed(seconds)
        with self._lock:
            if self.spent + cost > self.limit:
                self.refused += 1
                return False
            self.spent += cost
            self.runs += 1
            return True

    def describe(self) -> str:
        skipped = f"; {self.refused} media runs skipped for the budget" if self.refused else ""
        return (
            f"v1 media: {self.spent:g} billable media seconds spent of --max-media-seconds {self.limit:g}"
            f" over {self.runs} runs (at least {MINIMUM_PER_RUN:g} s each){skipped}"
        )
