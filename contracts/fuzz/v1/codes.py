"""The v1 fuzz probes' own check codes and their evidence grades (registered with ``contracts.evidence``).

Each session rule is probed from both sides (the frame that must be accepted and the one that must be
refused); a probe's failure carries its code. The v1 rules of ``contracts.apis.v1`` judge every body and
session as well, with their own codes.
"""

from __future__ import annotations

from contracts.evidence import Grade, register_grades

PROBE_CODES: dict[str, str] = {
    "v1-fuzz-update-before-media": "a session.update before the first media frame is not answered by session.updated",
    "v1-fuzz-update-after-media": "a session.update after the first media frame does not end the session with "
    "config_invalid",
    "v1-fuzz-invalid-audio-frame": "an odd, empty or over-10-s audio frame is not answered by a retryable "
    "invalid_audio_frame, or the session does not go on after it",
    "v1-fuzz-message-too-large": "a message over 1 MiB is not answered by message_too_large ending the session",
    "v1-fuzz-closed-after-error": "a session-ending error is not followed by session.closed (reason error)",
    "v1-fuzz-rate-limit": "media faster than the send rate is not answered by rate_limited, or media within it is",
    "v1-fuzz-video-failures": "four failed video frames in a row end the session, or five do not",
    "v1-fuzz-session-close": "session.close is not answered by session.closed (reason client_request) and the close",
    "v1-fuzz-handshake-auth": "a realtime handshake without a valid key is not refused with 401",
    "v1-fuzz-upload-limit": "an upload over 25 MB is not refused with a 4xx audio_too_long",
    "v1-fuzz-pixel-limit": "an image over 8,294,400 pixels is not refused with a 4xx image_too_large",
    "v1-fuzz-bbox-inside": "a face's bounding box reaches outside the image",
    "v1-fuzz-face-state": "an upload continuing a face_state gives a new face the face_id of an earlier one",
    "v1-fuzz-run-status": "a run that completed (an upload answered 200, a session closed on request) does not "
    "read status ended",
    "v1-fuzz-runs-filter": "GET /v1/expression/run?status=X lists a run of another status",
    "v1-fuzz-page-size-bounds": "page_size outside 1-200 is not refused with 400",
    "v1-fuzz-metered-minimum": "a run with media reports metered_seconds under the 10 s minimum",
    "v1-fuzz-face-score-cutoff": "a face score listed at 0.1 (listed only above 0.1; 0.1 may be a rounded 0.10004)",
    "v1-fuzz-session": "a session the fuzzer opened could not be held (closed early, no answer in time)",
}

register_grades(
    {
        # "Bounding boxes inside the image" is our reading of pixel coordinates; the docs do not say it.
        "v1-fuzz-bbox-inside": Grade.JUDGEMENT,
        # The face_state docs say it "continues face IDs"; that a face far from every earlier one is new is ours.
        "v1-fuzz-face-state": Grade.JUDGEMENT,
        # The mock's burst sizes are ours; that a burst of 12 s of audio is refused in part follows from the
        # documented real-time rate with any burst under 12 s.
        "v1-fuzz-rate-limit": Grade.DOCUMENTED,
        # A listed 0.1 may be an underlying 0.10004 rounded: only a strict reading calls it a breach.
        "v1-fuzz-face-score-cutoff": Grade.JUDGEMENT,
        # The runs list's page_size bounds are cut off; 1-200 is read from the sibling events page.
        "v1-fuzz-page-size-bounds": Grade.JUDGEMENT,
        # Close codes are cut off in the docs; a session the fuzzer could not hold is our observation.
        "v1-fuzz-session": Grade.JUDGEMENT,
    }
)
