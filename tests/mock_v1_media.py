"""Media for the v1 mock tests: PCM with speech and silence where wanted, WAV of it, JPEGs with n faces.

They live in ``strategies.v1.media`` (the v1 fuzzer sends the same media); re-exported here for the tests.
"""

from __future__ import annotations

from strategies.v1.media import RATE, face_jpeg, faces_jpeg, pcm, plain_jpeg, wav

__all__ = ["RATE", "face_jpeg", "faces_jpeg", "pcm", "plain_jpeg", "wav"]
