"""Every number and choice of the v1 mock in one place: Hume's documented limits, and our choices where the
docs are cut off (marked CHOICE; the README's v1-mock section lists them).

Sources: the v1 ground-truth pack (docs/limits, the reference pages, SDK 0.1.0 docstrings, see
``openapi/v1/names.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

# ---- audio (documented)
SAMPLE_RATE = 16_000
SAMPLE_BYTES = 2  # s16le mono
BYTES_PER_MS = SAMPLE_RATE * SAMPLE_BYTES // 1000  # 32
TIMER_MIN_MS, TIMER_MAX_MS, TIMER_DEFAULT_MS = 3000, 10_000, 3000
WINDOW_MS = 10_000  # a measurement covers at most the most recent 10 s of its utterance
SPEECH_ENDED_GAP_MS = 1000  # no speech_ended measurement if the previous one ended less than 1 s earlier
MAX_AUDIO_FRAME_BYTES = 320_000  # 10 s of samples per realtime frame
MAX_AUDIO_MESSAGE_BYTES = 1_048_576  # 1 MiB: any audio WebSocket message
AUDIO_CONFIG = {"type": "audio/pcm", "encoding": "s16le", "sample_rate": SAMPLE_RATE, "channels": 1}

# ---- speech detection (CHOICE: Hume does not say how it finds speech; this is the mock's documented rule)
BLOCK_MS = 20  # audio is judged in 20 ms blocks (320 samples)
SPEECH_RMS = 500  # a block is speech when the RMS of its samples is >= 500 (about -36 dBFS)
HANGOVER_MS = 500  # an utterance ends after 500 ms without a speech block; it ends where the last one ended

# ---- scores (documented cutoffs; the per-name audio thresholds are a CHOICE)
VOICE_ATTRIBUTE_MIN = 0.725  # included when >= 0.725
FACE_SCORE_MIN = 0.1  # face expressions and descriptions included when > 0.1
DECIMALS = 4

# ---- video (documented)
MAX_IMAGE_BYTES = 2_000_000  # "2 MB": CHOICE of the smaller reading (the SDK's own sender makes the same choice)
MAX_IMAGE_PIXELS = 8_294_400  # 3840 x 2160
FACES_MEASURED = 2
FACES_LISTED = 32
FACE_THRESHOLD_DEFAULT, FACE_MIN_SIZE_DEFAULT = 0.9, 60
MAX_VIDEO_FAILURES = 5  # consecutive internal_error replies end the session
VIDEO_FRAME_SECONDS = 1 / 3  # metered per frame or image
IMAGE_CONFIG = {"type": "image/jpeg"}
FACE_STATE_TTL_S = 24 * 3600
FACE_MEMORY = 32  # faces the tracker remembers
FACE_MATCH_IOU = 0.3  # CHOICE: a face keeps its id when its box overlaps a remembered one by this IoU

# ---- uploads (documented)
MAX_REQUEST_BYTES = 25_000_000  # "25 MB": CHOICE of the smaller reading, as for 2 MB

# ---- send rates (documented: 1 s of audio per second, 3 frames per second; bucket sizes are a CHOICE)
AUDIO_BURST_MS = 10_000  # one maximal frame may always be sent after an idle stretch
VIDEO_FPS = 3.0
# The rate is judged when a frame is read, not when it arrived: a burst of 6 lets 2 s of frames that queued while
# the mock was busy through ("a frame within the send rate is never rejected because the server is busy").
VIDEO_BURST_FRAMES = 6

# ---- runs (documented)
PAGE_SIZE_DEFAULT, PAGE_SIZE_MIN, PAGE_SIZE_MAX = 50, 1, 200
METERED_MINIMUM_S = 10.0
EVENTS_PER_KIND_CAP = 100  # CHOICE: per-run log cap of each event kind (the docs give no number)
RUN_CONFIG_SCHEMA = "v4"

# ---- sessions (CHOICE: the close codes and the idle timeout are in the part of the Sessions page we cannot read;
# these follow the SDK 0.1.0 reconnect policy, which reconnects on 1001/1011/1012/1013 and stops on 1000/1008;
# a server shutdown is uvicorn's 1012, see realtime.py)
CLOSE_NORMAL = 1000  # after session.closed with reason client_request or idle_timeout
CLOSE_POLICY = 1008  # after a session-ending error (config_invalid, message_too_large, internal_error)
LOST_CLOSE_CODE = 1011  # Run.close_code of a connection lost without a close frame (documented in the SDK)
FIVE_MINUTES_MS = 5 * 60 * 1000  # a live run not heard from this long reads `errored` (documented)


@dataclass
class V1Settings:
    """The knobs tests turn (``app.state.v1.settings``); defaults are the values above."""

    idle_timeout_s: float = 60.0  # CHOICE: a session that receives nothing for a minute ends (reason idle_timeout)
    silent_run_errored_ms: int = FIVE_MINUTES_MS
    run_flush_interval_s: float = 1.0  # how often a live session's counters are written to the run store
