"""Hypothesis strategies for Hume's Expression Measurement API.

- ``strategies.media``: real media made on the fly (PNG/JPEG with or without a face, WAV, text, archives)
  plus plain builders (``make_png``, ``make_wav``, ...) for use outside Hypothesis.
- ``strategies.requests``: valid JSON job bodies, multipart uploads, list-jobs queries, job ids.
- ``strategies.stream``: valid client frames of the stream endpoint.
- ``strategies.invalid``: inputs broken in one known way, with the violation code and pointer expected.

Strategies are named after what they produce; import them from their module.
"""

from strategies.invalid import Broken, broken_inputs
from strategies.media import MediaFile, make_jpeg, make_png, make_tar_gz, make_text, make_wav, make_zip
from strategies.requests import MultipartUpload, job_ids, job_requests, list_jobs_queries, multipart_uploads
from strategies.stream import stream_payloads

__all__ = [
    "Broken",
    "MediaFile",
    "MultipartUpload",
    "broken_inputs",
    "job_ids",
    "job_requests",
    "list_jobs_queries",
    "make_jpeg",
    "make_png",
    "make_tar_gz",
    "make_text",
    "make_wav",
    "make_zip",
    "multipart_uploads",
    "stream_payloads",
]
