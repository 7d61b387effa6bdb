"""The mock's settings, in one dataclass shared by the app, the store and the CLI."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from mockserver.drifts import unknown_drifts

DEFAULT_API_KEY = "mock-key"


@dataclass(frozen=True)
class MockConfig:
    """How one mock instance behaves.

    ``data_dir`` None means a fresh temporary directory (removed when the app shuts down); ``drifts`` names
    catalogue entries of ``mockserver.drifts`` to break the contract on purpose. The two ``*_seconds`` knobs
    say how long a job stays QUEUED and then IN_PROGRESS; ``tick_seconds`` is how often the background
    worker advances jobs and sends callbacks.
    """

    api_key: str = DEFAULT_API_KEY
    data_dir: Path | None = None
    drifts: frozenset[str] = frozenset()
    queued_seconds: float = 0.2
    in_progress_seconds: float = 0.2
    tick_seconds: float = 0.05
    # Hostile-input bounds.
    max_upload_bytes: int = 64 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    # None: no rate limit. Otherwise requests per second per key, answered with 429 + Retry-After beyond it.
    rate_limit_per_second: float | None = None
    callback_timeout_seconds: float = 2.0
    # Heavy requests (job submission, first artifacts download) run at most this many at once; this many more
    # wait; beyond that, 429 + Retry-After.
    concurrent_jobs: int = 2
    waiting_jobs: int = 16
    # Stream sessions open at once (beyond: 429 at the handshake), frames answered at once (a 10,000-character
    # text frame costs ~100 MB while it is answered), and how long a client may leave its reply unread, making no
    # progress, before it is dropped. Each session holds at most one reply unsent.
    max_stream_sessions: int = 16
    stream_workers: int = 2
    stream_stall_seconds: float = 10.0
    # v1 realtime sessions open at once, audio and video together (beyond: 429 server_busy at the handshake).
    # A CHOICE: Hume's docs say nothing of concurrency; each session holds at most one 2 MB message.
    max_realtime_sessions: int = 64
    # Connections open at once, HTTP and WebSocket together (None: what the file-descriptor limit allows;
    # beyond: 503), and how long a request's head may take to arrive (slowloris; beyond: 408).
    max_connections: int | None = None
    head_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        unknown = unknown_drifts(self.drifts)
        if unknown:
            raise ValueError(f"unknown drift(s): {', '.join(sorted(unknown))}; see --list-drifts")
        if min(self.queued_seconds, self.in_progress_seconds) < 0 or self.tick_seconds <= 0:
            raise ValueError("job timings must be >= 0 and tick_seconds > 0")
        if self.concurrent_jobs < 1 or self.waiting_jobs < 0:
            raise ValueError("concurrent_jobs must be >= 1 and waiting_jobs >= 0")
        if min(self.max_stream_sessions, self.stream_workers, self.max_realtime_sessions) < 1:
            raise ValueError("max_stream_sessions, stream_workers and max_realtime_sessions must be >= 1")
        if self.stream_stall_seconds <= 0:
            raise ValueError("stream_stall_seconds must be > 0")
        if (self.max_connections is not None and self.max_connections < 1) or self.head_timeout_seconds <= 0:
            raise ValueError("max_connections must be >= 1 and head_timeout_seconds > 0")

    def drifted(self, name: str) -> bool:
        """True when the drift ``name`` is switched on (the one check every drift site uses)."""
        return name in self.drifts

    def __repr__(self) -> str:  # never show the key
        return f"MockConfig(api_key='***', data_dir={self.data_dir!r}, drifts={sorted(self.drifts)!r})"


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and literal loopback addresses (no DNS lookup, so no rebinding)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
