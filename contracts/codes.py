"""Every stable violation code, with a one-line meaning (``hume-contracts validate --list-codes``).

Schema codes come from the discriminator-aware validator; rule codes from the semantic rules
(each rule can be switched off by its code); traffic codes from checking a recorded interaction.
"""

from __future__ import annotations

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
    "job-id-uuid": "a batch job_id is not a UUID",
}

TRAFFIC_CODES: dict[str, str] = {
    "unknown-operation": "no operation of the contract matches the method and path",
    "undeclared-status": "the status code is not declared for the operation",
    "wrong-content-type": "the content type is not declared for the operation and status",
    "unparsable-body": "the body is not valid JSON although its content type says it is",
}

ALL_CODES: dict[str, str] = {**SCHEMA_CODES, **RULE_CODES, **TRAFFIC_CODES}
