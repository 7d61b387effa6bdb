"""Every stable violation code, with a one-line meaning (``hume-contracts validate --list-codes``).

Schema codes come from the discriminator-aware validator; rule codes from the semantic rules
(each rule can be switched off by its code); traffic codes from checking a recorded interaction.
"""

from __future__ import annotations

from contracts.evidence import Grade, register_grades

SCHEMA_CODES: dict[str, str] = {
    "schema-required": "a required field is missing",
    "schema-type": "a value has the wrong JSON type (null included)",
    "schema-enum": "a value is not one of the allowed values",
    "schema-const": "a value differs from the one fixed value allowed",
    "schema-range": "a number is outside its bounds",
    "schema-length": "a string or array is too short or too long",
    "schema-pattern": "a string does not match its pattern",
    "schema-format": "a string does not have its declared format",
    "schema-additional": "an object has a property the contract forbids",
    "schema-other": "any other JSON Schema keyword failed",
    "discriminator-missing": "a union member lacks its discriminator field",
    "discriminator-unknown": "a union's discriminator has a value no variant declares",
    "union-no-match": "a value matches no variant of an undiscriminated union",
}

RULE_CODES: dict[str, str] = {
    "state-timestamps-order": "job state timestamps are out of order (created <= started <= ended)",
    "state-fields": "a job state lacks a field its status must have",
    "counts-non-negative": "num_predictions / num_errors is negative",
    "interval-order": "a time or text interval has begin > end, or a negative bound",
    "probability-range": "a probability, confidence or score is outside [0, 1]",
    "box-size": "a bounding box has a negative width or height",
    "frame-non-negative": "a face frame index or time is negative",
    "label-set": "a model returned a label outside its known label set",
    "label-set-complete": "a model returned less than its full label set, or a label twice",
    "job-id-uuid": "a batch job_id is not a UUID",
    "error-message-empty": "a results.errors entry has an empty message (a judgement)",
}

TRAFFIC_CODES: dict[str, str] = {
    "unknown-operation": "no operation of the contract matches the method and path",
    "undeclared-status": "the status code is not declared for the operation",
    "wrong-content-type": "the content type is not declared for the operation and status",
    "unparsable-body": "the body is not valid JSON (or multipart) although its content type says it is",
    "invalid-request-accepted": "a request that breaks the contract was accepted (2xx/3xx) instead of refused",
}

LIFECYCLE_CODES: dict[str, str] = {
    "auth-not-enforced": "a request without (or with a wrong) API key was not refused with 401",
    "job-not-created": "starting a valid job did not answer 200 with a job id",
    "job-stuck": "a job did not end (COMPLETED or FAILED) within the time budget",
    "state-regressed": "a job went back to an earlier status, or skipped to an illegal one",
    "timestamps-changed": "a job's timestamps shrank or changed between polls",
    "source-mismatch": "predictions' sources do not match the request (urls, file md5sums, texts)",
    "prediction-mismatch": "predictions do not follow from the input (positions outside the text, ...)",
    "artifacts-unreadable": "job artifacts are not a readable zip",
    "list-missing-job": "list-jobs does not return a job that was created",
    "list-filter-ignored": "list-jobs returned a job its status or time filter excludes",
    "list-sort-wrong": "list-jobs is not sorted by sort_by in direction",
    "list-limit-ignored": "list-jobs returned more jobs than limit",
    "list-duplicate-job": "list-jobs returned the same job twice",
    "job-not-found": "a job id that POST /v0/batch/jobs returned answered 404 on its details",
    "predictions-not-found": "the predictions (or artifacts) of a COMPLETED job answered 404",
    "retry-after-missing": "a 429 answer without a Retry-After header of whole seconds",
    "timestamp-unit": "a *_timestamp_ms is not in milliseconds (before 2001, or over a day past the Date header)",
    "face-box-outside-image": "a face box lies outside the image uploaded (a judgement)",
    "artifacts-unsafe-path": "an artifacts zip member has an absolute path or a `..` part (a judgement)",
}

STREAM_CODES: dict[str, str] = {
    "stream-handshake-open": "the stream handshake was accepted without a valid API key",
    "stream-unreachable": "the stream endpoint refused a handshake with a valid key",
    "stream-no-reply": "a payload got no reply frame within the timeout",
    "stream-payload-id": "a reply did not echo the payload's payload_id",
    "stream-model-missing": "a requested model was neither answered nor warned about",
    "stream-wrong-reply": "a reply of the wrong kind (error for a valid payload, predictions for an invalid one)",
    "stream-connection-dropped": "the connection closed after a single invalid payload",
    "stream-binary-frame": "a reply came as a binary frame, not a JSON text frame (a judgement)",
    "stream-position-mismatch": "a language reply's position does not index the text frame it answers",
    "stream-extra-reply": "a reply frame that answers no frame (a second reply to one frame)",
}


# Fuzz checks without a code family above (lifecycle.py, stream.py, batch.py and context.py use them).
FUZZ_CODES: dict[str, str] = {
    "bound-not-enforced": "a request one step past a documented bound was accepted instead of refused",
    "list-limit-bounds": "list-jobs does not keep the bounds of `limit` (65535 at most; 0 and 65536 refused)",
    "job-id-mismatch": "job details name another job than the one asked for",
    "request-echo-mismatch": "job details' request does not repeat what was sent",
    "source-file-name": "an uploaded file's name is not repeated in its source and predictions",
    "stream-limit": "a stream frame within a documented limit was refused, or one past it was answered",
    "stream-error-code": "a stream error does not carry the documented code of its fault",
    "stream-warning-code": "a per-model stream warning carries another model's code",
    "body-too-large": "a response body is larger than the run's cap (256 MiB)",
    "redirect-loop": "more than 3 redirects",
}

ALL_CODES: dict[str, str] = {
    **SCHEMA_CODES,
    **RULE_CODES,
    **TRAFFIC_CODES,
    **LIFECYCLE_CODES,
    **STREAM_CODES,
    **FUZZ_CODES,
}

# The grade of each code (contracts/evidence.py): what backs it. Unlisted codes are DOCUMENTED (the contract
# documents, Fern and Hume's docs); a finding may narrow its code's grade (label-set-complete of a model no real
# output shows, list-limit-bounds' refusals).
register_grades(
    {
        # the semantic rules calibrated on real output
        "label-set": Grade.RECORDED,
        "label-set-complete": Grade.RECORDED,  # JUDGEMENT per finding where only the docs say it (OFFICIAL)
        "job-id-uuid": Grade.RECORDED,
        "source-mismatch": Grade.RECORDED,
        "source-file-name": Grade.RECORDED,
        # the official SDK
        "stream-unreachable": Grade.SDK,
        "stream-no-reply": Grade.SDK,
        "artifacts-unreadable": Grade.SDK,
        # Hume documents what a client may send, not that a server refuses the rest: refusing is our reading.
        "invalid-request-accepted": Grade.JUDGEMENT,
        "bound-not-enforced": Grade.JUDGEMENT,
        # how long a job may take, and the run's own caps, are ours
        "job-stuck": Grade.JUDGEMENT,
        "body-too-large": Grade.JUDGEMENT,
        "redirect-loop": Grade.JUDGEMENT,
    }
)
