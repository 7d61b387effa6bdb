"""The v1 mock's state, in one place: ``app.state.v1`` (settings, the run store, the session slots, the
face-state secret)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from mockserver.admission import WorkGate
from mockserver.config import MockConfig
from mockserver.v1.protocol import V1Settings
from mockserver.v1.runs import RunStore


@dataclass
class V1State:
    config: MockConfig
    runs: RunStore
    settings: V1Settings = field(default_factory=V1Settings)
    sessions: WorkGate = field(init=False)  # realtime sessions open at once (no queue: a full gate is a 429)

    def __post_init__(self) -> None:
        self.sessions = WorkGate(slots=self.config.max_realtime_sessions, waiting=0)

    @property
    def face_state_secret(self) -> bytes:
        # Signs face_state: a state from a mock with another key is "foreign" and ignored, as documented.
        return hashlib.sha256(b"hume-mock-face-state:" + self.config.api_key.encode()).digest()

    def drifted(self, name: str) -> bool:
        return self.config.drifted(name)


def open_v1(config: MockConfig, data_dir: Path) -> V1State:
    """The v1 state over ``data_dir``; runs a dead mock left live are ended as errored."""
    state = V1State(config=config, runs=RunStore(data_dir))
    state.runs.recover()
    return state
