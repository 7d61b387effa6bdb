"""Every v1 check code, its one-line meaning and its evidence grade (registered with ``contracts.evidence``).

A rule whose source page is cut off in the corpus and that no SDK text states is a judgement, and says so.
"""

from __future__ import annotations

from contracts.evidence import Grade, register_grades

# Additions (the compatibility rules): a note by default, a violation with --closed-world.
ADDITION_CODES: dict[str, str] = {
    "v1-unknown-field": "a field the v1 contract does not list (an addition: a note unless --closed-world)",
    "v1-unknown-value": "an enum value the v1 contract does not list (an addition: a note unless --closed-world)",
    "v1-unknown-message-type": "a WebSocket message type the v1 contract does not list (a note unless --closed-world)",
    "v1-unknown-name": "a score name outside the known label lists (incomplete: 15/415, 6/190, 11/48, 4/27 names; "
    "a note unless --closed-world, and then a judgement)",
}

BODY_RULE_CODES: dict[str, str] = {
    "v1-scores-order": "a score list is not sorted by probability, descending",
    "v1-scores-tie-order": "a face score list breaks a probability tie other than by name (audio ties: unchecked)",
    "v1-probability-decimals": "a probability has more than four decimals",
    "v1-voice-attribute-threshold": "a voice attribute scores under 0.725",
    "v1-face-score-threshold": "a face expression or description scores under 0.1 (listed only above 0.1)",
    "v1-measurement-id-sequence": "measurement_id does not count from 0 without gaps",
    "v1-utterance-sequence": "utterance ids do not count from 0, or an utterance's bounds disagree",
    "v1-utterance-open": "a measurement names an utterance not announced, or already ended",
    "v1-window-bounds": "a measurement window starts before its utterance, ends before it starts, or is over 10 s",
    "v1-speech-ended": "a speech_ended measurement is not its utterance's last, or comes within 1 s of the previous",
    "v1-utterance-measured": "an utterance ended without any measurement",
    "v1-frame-id-sequence": "frame_id does not count results from 0 without gaps",
    "v1-face-order": "measured faces are not listed first, or unmeasured ones not by descending confidence",
    "v1-face-size-order": "measured faces are not largest first (bbox area)",
    "v1-unmeasured-face-nulls": "face_id, expressions and descriptions are not null together",
    "v1-bbox-order": "a bbox has x1 < x0 or y1 < y0",
    "v1-run-ended-at": "ended_at is not null exactly while the run is live",
    "v1-runs-order": "a runs page is not newest first",
    "v1-metered-minimum": "a run over and metered for media is metered under 10 s",
    "v1-events-order": "run events are not in increasing seq order",
    "v1-page-duplicate": "an item appears twice in a page or across the pages of one listing",
}

SESSION_RULE_CODES: dict[str, str] = {
    "v1-session-created-first": "session.created is not the first server message, or comes twice",
    "v1-session-updated-unasked": "session.updated without a session.update before it",
    "v1-session-closed-last": "a server message follows session.closed",
    "v1-session-update-after-media": "a session.update after the first media frame was answered by session.updated",
    "v1-session-ending-error": "a session-ending error is followed by more than session.closed, or is retryable",
    "v1-error-retryable": "a survivable error says retryable: false",
    "v1-survivable-error-ended": "the server ended the session right after a survivable error",
    "v1-confidence-threshold": "a face's confidence is under the threshold in effect",
    "v1-session-totals": "session.closed totals disagree with the messages of the session",
    "v1-video-replies": "more replies than frames, or frames left unanswered at session.closed",
    "v1-run-status-transition": "a run left the status ended",
    "v1-list-filter-ignored": "a listed run does not match a filter of the request (status, mode, endpoint, ...)",
    "v1-message-too-large-unanswered": "a message over the size limit did not end the session (message_too_large)",
    "v1-cursor-loop": "a next_cursor repeats one already followed (the listing never ends)",
}

V1_CODES: dict[str, str] = {**ADDITION_CODES, **BODY_RULE_CODES, **SESSION_RULE_CODES}

# The client's own mistakes in a realtime session, that Hume's docs warn about: reported by the proxy as client
# findings, never counted against the server (``contracts.apis.v1.client``). Every one is documented
# (docs:docs/limits, docs:docs/audio/realtime, docs:docs/video/realtime, docs:reference/*/stream-*); the send-rate
# check allows a burst on top of the documented rate, so what it reports is over that rate on any reading.
CLIENT_CODES: dict[str, str] = {
    "client-config-after-media": "the client sent session.update after its first media frame (ends the session)",
    "client-odd-audio-frame": "the client sent an audio frame of an odd byte count (not whole 16-bit samples)",
    "client-message-too-large": "the client sent a message over the size limit (1 MiB audio, 2 MiB video; ends it)",
    "client-faster-than-realtime": "the client sent media faster than the send rate (1 s of audio per s, 3 frames/s)",
}

register_grades(
    {
        "v1-unknown-field": Grade.SDK,
        "v1-unknown-value": Grade.SDK,
        "v1-unknown-message-type": Grade.SDK,
        # The label lists are incomplete (the name tables are cut off in every rendering of the pages).
        "v1-unknown-name": Grade.JUDGEMENT,
        # "Largest first" is documented; reading "largest" as bbox area is ours.
        "v1-face-size-order": Grade.JUDGEMENT,
        # "Descending then by name": whether a tie is of the rounded or the underlying probabilities is not said.
        # Audio ties go by the underlying score, then name: no body shows that score, so audio ties are not checked.
        "v1-scores-tie-order": Grade.JUDGEMENT,
        # The docs say "[x0, y0, x1, y1]"; that x0 <= x1 is our reading of corner order.
        "v1-bbox-order": Grade.JUDGEMENT,
        # The sessions page (lifecycle, closing) is cut off; the SDK docstrings state the order of session.close
        # and of errors, not a general "updated only when asked": documented for the lock, a judgement for the rest.
        "v1-session-updated-unasked": Grade.JUDGEMENT,
        # Run listing pages are cut off before pagination; "no item twice" and a cursor that ends are ours.
        "v1-page-duplicate": Grade.JUDGEMENT,
        "v1-cursor-loop": Grade.JUDGEMENT,
        # "Video replies one per frame, in order" is documented; counting them from a transcript that may
        # start late is ours only in that we require the transcript to hold the whole session.
    }
)
