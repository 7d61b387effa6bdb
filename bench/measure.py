"""One measurement in a fresh process: ``python -m bench.measure METHOD INPUT KIND [--repeat N]``.

Prints one JSON object: the best wall time over the repeats (reading the file included), the resident
memory when timing starts and its peak while timing (Linux ``VmHWM``, restarted by ``clear_refs``), and
what was found. Each measurement
runs in its own process so that one method's memory never counts against another's. Everything a
method needs (imports, compiled contract) is prepared, and warmed up on a small body, before timing.

Methods:
- ``json.loads`` / ``orjson.loads``: reading the JSON alone (the baseline);
- ``hume-contracts``: this suite, ``orjson.loads`` + ``contracts.validation.validate_body`` (full report);
- ``hume-contracts, streamed``: this suite reading the file item by item (``contracts.incremental``);
- ``validate-command``: ``hume-contracts validate`` in-process (its reader, then the same validation);
- ``jsonschema``: plain ``jsonschema`` (Draft 2020-12) on the repaired spec, every error listed;
- ``openapi-core``: ``OpenAPI.validate_response`` on the repaired spec (bodies only: no AsyncAPI support).
- ``startup``: importing the suite and compiling every kind's validator, in a cold process.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

START = time.perf_counter()

Runner = Callable[[Path], int]  # validates one input file, returns the number of violations found
TRANSCRIPT_KINDS = {"sent": "stream-payload", "received": "stream-message"}


def _status_mb(field: str) -> float | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux: VmHWM; ru_maxrss is inherited from the parent)."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> float:
    """Restart the peak at the current resident memory (Linux ``clear_refs``); the memory it restarts at."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return peak_rss_mb()  # cannot reset: the growth is then measured from the earlier peak
    return _status_mb("VmRSS") or peak_rss_mb()


LIMIT: int | None = None  # --limit: only the first N lines of a transcript (slow validators)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from itertools.islice(handle, LIMIT)


# -- the methods: each returns a runner for bodies ("predictions") or transcripts ("transcript") -------------


def baseline(loads: Callable[[bytes], Any], kind: str) -> Runner:
    def whole(path: Path) -> int:
        loads(path.read_bytes())
        return 0

    def lines(path: Path) -> int:
        for line in _lines(path):
            loads(line)
        return 0

    return lines if kind == "transcript" else whole


def suite(kind: str) -> Runner:
    import orjson

    from contracts.validation import validate_body

    def whole(path: Path) -> int:
        return len(validate_body(orjson.loads(path.read_bytes()), kind))

    def lines(path: Path) -> int:
        found = 0
        for line in _lines(path):
            entry = orjson.loads(line)
            found += len(validate_body(entry["frame"], TRANSCRIPT_KINDS[entry["direction"]]))
        return found

    return lines if kind == "transcript" else whole


def suite_streamed(kind: str) -> Runner:
    if kind == "transcript":
        raise NotImplementedError("transcripts are read line by line already")
    from contracts.incremental import validate_file

    def run(path: Path) -> int:
        with path.open("rb") as handle:
            return len(validate_file(handle, kind))

    return run


def validate_command(kind: str) -> Runner:
    from contracts import validate_command as command

    report = Path(tempfile.mkdtemp()) / "report.json"
    kind_option = [] if kind == "transcript" else ["--kind", kind]

    def run(path: Path) -> int:
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                command.main([*kind_option, "--format", "json", "--output", str(report), str(path)])
            finally:
                sys.stdout = stdout
        return report.read_text().count('"code"')

    return run


def plain_jsonschema(kind: str) -> Runner:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    import openapi
    from contracts.validation import KIND_SCHEMAS

    documents = {
        "urn:hume-contracts:openapi": openapi.load_repaired(),
        "urn:hume-contracts:stream": openapi.load_stream_contract(),
    }
    registry = Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in documents.items()
    )
    validators = {
        name: jsonschema.Draft202012Validator({"$ref": ref}, registry=registry) for name, ref in KIND_SCHEMAS.items()
    }

    def whole(path: Path) -> int:
        return len(list(validators[kind].iter_errors(json.loads(path.read_bytes()))))

    def lines(path: Path) -> int:
        found = 0
        for line in _lines(path):
            entry = json.loads(line)
            found += len(list(validators[TRANSCRIPT_KINDS[entry["direction"]]].iter_errors(entry["frame"])))
        return found

    return lines if kind == "transcript" else whole


def openapi_core(kind: str) -> Runner:
    if kind != "predictions":
        raise NotImplementedError("openapi-core validates OpenAPI operations only; the stream is AsyncAPI")
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    import openapi

    spec = OpenAPI.from_dict(openapi.load_repaired())
    request = MockRequest("https://api.hume.ai", "get", "/v0/batch/jobs/0f3a9c1e/predictions")

    def run(path: Path) -> int:
        response = MockResponse(data=path.read_bytes(), status_code=200, content_type="application/json")
        try:
            spec.validate_response(request, response)
        except Exception as error:  # openapi-core reports a failure as one exception
            return max(1, len(getattr(error.__cause__, "schema_errors", ()) or ()))
        return 0

    return run


def runner_for(method: str, kind: str) -> Runner:
    import orjson

    makers: dict[str, Callable[[], Runner]] = {
        "json.loads": lambda: baseline(json.loads, kind),
        "orjson.loads": lambda: baseline(orjson.loads, kind),
        "hume-contracts": lambda: suite(kind),
        "hume-contracts, streamed": lambda: suite_streamed(kind),
        "validate-command": lambda: validate_command(kind),
        "jsonschema": lambda: plain_jsonschema(kind),
        "openapi-core": lambda: openapi_core(kind),
    }
    return makers[method]()


# -- main -----------------------------------------------------------------------------------------------------


def startup() -> dict[str, Any]:
    """Cold start: import the suite and compile the fast validator of every kind."""
    from contracts.fast import fast_contract
    from contracts.validation import KIND_SCHEMAS

    fast = fast_contract()
    assert fast is not None
    for ref in KIND_SCHEMAS.values():
        fast.validator_for(ref)
    return {"seconds": time.perf_counter() - START, "peak_rss_mb": peak_rss_mb()}


def measure(method: str, path: Path, kind: str, repeat: int, warmup: Path | None) -> dict[str, Any]:
    run = runner_for(method, kind)
    if warmup is not None:
        run(warmup)
    gc.collect()
    baseline_mb = reset_peak_rss()
    times, found = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        found = run(path)
        times.append(time.perf_counter() - began)
    return {
        "seconds": min(times),
        "violations": found,
        "baseline_rss_mb": baseline_mb,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method")
    parser.add_argument("input", nargs="?", type=Path)
    parser.add_argument("kind", nargs="?", default="predictions")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--warmup", type=Path, help="a small input run once before timing")
    parser.add_argument("--limit", type=int, help="validate only the first N lines of a transcript")
    args = parser.parse_args()
    global LIMIT
    LIMIT = args.limit
    try:
        result = (
            startup()
            if args.method == "startup"
            else measure(args.method, args.input, args.kind, args.repeat, args.warmup)
        )
    except Exception as error:  # reported in the table, not as a traceback
        result = {"error": f"{type(error).__name__}: {error}"[:300]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
