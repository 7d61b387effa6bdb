"""hume-contracts validate: check recorded bodies and traffic against the contract.

    hume-contracts validate [--kind KIND] [--format text|json|junit|html] [--output FILE] [--report DIR]
                            [--disable CODE ...] [--list-codes] [--verbose] [--max-file-mib N]
                            [--jobs N] PATH...

Each PATH is a file or a directory (searched recursively for .json .jsonl .ndjson .har .yaml .yml):

- .json: one body (its kind detected, or forced with --kind, which also stops a .json file from
  being read as a HAR or WireMock file), a HAR document, or WireMock stub mappings;
- .jsonl: a stream transcript, one frame per line, either {"direction": "sent"|"received",
  "frame": {...}} or a bare frame: a frame with data, models, raw_text, reset_stream or
  job_details: true was sent (checked as stream-payload), anything else was received
  (stream-message);
- .har: HAR 1.2; .yaml/.yml: a schemathesis VCR cassette. HTTP interactions are matched to
  their operation by method and path and checked for status, content type and body.

v1 (Hume's live API): bodies of the v1 kinds (told by shape, or --kind v1-...), /v1/... interactions (told by
path), and realtime sessions, judged as a whole: a .jsonl of bare v1 messages or of HAR _webSocketMessages
records ({"type": "send"|"receive", "opcode": 1|2|8, "data": ...}, binary base64), and HAR WebSocket entries.
A .jsonl of such records whose first line is {"_session": {"url": ...}} (what pytest's hume_sessions fixture
records) is judged by its URL's path: a v1 realtime session as a whole, a v0 stream frame by frame.
What Hume may add (a new name, enum value, field or message type) is a note unless --closed-world.

A recorded request is judged by what was sent (body, form parts, query). One that breaks the contract
and was refused with a 4xx is a correct rejection (counted, not a violation); accepted with a 2xx or 3xx,
it is invalid-request-accepted. --strict-requests makes every such request a violation.

A predictions body of 8 MiB or more is read item by item (``contracts.incremental``), never whole;
with --jobs N, the files are checked in N processes (0: one per CPU), the report in the same order.

Findings graded a judgement of this suite (``--list-codes`` shows each code's grade) are warnings: shown and
counted, failing nothing, unless --strict-judgements.

Exit status: 0 when every body conforms; 1 when any violation is found; 2 on a usage error, when any
input (a file, a line, an entry) could not be read, or when nothing at all was found to check. Every
other input is still checked and reported: 2 wins over 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from contracts import coverage, html_report, report
from contracts.apis.v1.codes import CLIENT_CODES, V1_CODES
from contracts.cli_parsing import CarefulParser
from contracts.codes import FUZZ_CODES, LIFECYCLE_CODES, RULE_CODES, SCHEMA_CODES, STREAM_CODES, TRAFFIC_CODES
from contracts.evidence import grade_of
from contracts.progress import LiveProgress, wanted
from contracts.readers import (
    DEFAULT_MAX_BYTES,
    JSON_EXTENSIONS,
    MAX_DEPTH,
    BodyItem,
    HttpInteraction,
    Item,
    Note,
    ReadError,
    ReadOptions,
    SessionItem,
    read_path,
    walk_inputs,
)
from contracts.report_dir import UnwritableReport, write_report_dir
from contracts.safe_text import printable
from contracts.violations import Finding, RejectedRequest, Violation

KINDS = ("job", "jobs", "job-id", "predictions", "job-request", "stream-payload", "stream-message")
V1_KINDS = (
    "v1-audio-file-response",
    "v1-video-file-response",
    "v1-run",
    "v1-runs-page",
    "v1-run-events-page",
    "v1-error",
    "v1-audio-server-message",
    "v1-video-server-message",
    "v1-audio-client-message",
    "v1-video-client-message",
)
KIND_CHOICES = KINDS + V1_KINDS  # listed here, not imported: --help must not load the validators
FORMATS = ("text", "json", "junit", "html")
DISABLEABLE_CODES = {**RULE_CODES, **TRAFFIC_CODES, **V1_CODES}
PROG = "hume-contracts validate"
STREAM_FROM_BYTES = 8 * 2**20  # a body this big is read item by item: whole, it would take ~10x its size


class UsageError(Exception):
    """Arguments that cannot be acted on; reported on stderr with exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to validate")
    parser.add_argument("--kind", choices=KIND_CHOICES, help="check every .json file as one body of this kind")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="report format (default: text); html: one self-contained page (failures first, the coverage map"
        " with --coverage), e.g. --format html --output report.html",
    )
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE (summary line on stdout)")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="also write report.json, junit.xml and report.html in DIR (made if missing), as --format json, junit"
        " and html would (but for --format junit, junit.xml counts the conforming bodies in one case per kind);"
        " stdout and the exit status are as without it (2 if DIR cannot be written)",
    )
    parser.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="CODE",
        help="switch off a rule or traffic check by its code (repeatable; see --list-codes)",
    )
    parser.add_argument(
        "--strict-requests",
        action="store_true",
        help="report every recorded request that breaks the contract as a violation, even when the server "
        "refused it (for checking your own client's traffic; by default a refused invalid request is a "
        "correct rejection and an accepted one is invalid-request-accepted)",
    )
    parser.add_argument(
        "--strict-judgements",
        action="store_true",
        help="fail on findings graded a judgement of this suite (by default they are warnings: shown and counted, "
        "exit status unchanged); see --list-codes for each code's grade",
    )
    parser.add_argument(
        "--closed-world",
        action="store_true",
        help="v1: report what Hume may add (a new name, enum value, field or message type) as a violation, "
        "for a Hume-compatible server that must match the contract exactly (default: a note, listed as unknown)",
    )
    parser.add_argument("--list-codes", action="store_true", help="print every violation code and exit")
    parser.add_argument("--verbose", "-v", action="store_true", help="also list conforming files and notes")
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no live progress (shown on stderr only when it is a terminal)"
    )
    parser.add_argument(
        "--max-file-mib",
        type=float,
        default=DEFAULT_MAX_BYTES / 2**20,
        metavar="N",
        help="refuse files larger than N MiB (default: %(default)g)",
    )
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="also say which parts of the contract the inputs exercised (the full map goes into --format json)",
    )
    parser.add_argument(
        "--coverage-format", choices=("text", "markdown"), default="text", help="the coverage summary's format"
    )
    parser.add_argument(
        "--min-coverage",
        type=float,
        metavar="PCT",
        help="exit 1 when the contract coverage is under PCT percent (implies --coverage)",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=1,
        metavar="N",
        help="check files in N processes; 0: one per CPU (default: 1)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = CarefulParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        _check_usage(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=stderr)
        return 2
    if args.list_codes:
        stdout.write(list_codes())
        return 0
    try:
        checker = BodyChecker(
            disabled=frozenset(args.disable), strict_requests=args.strict_requests, closed_world=args.closed_world
        )
    except ImportError as error:
        print(f"{PROG}: error: the validator is not available ({error})", file=stderr)
        return 2
    results = report.Results(keep_passing=args.format == "junit", strict_judgements=args.strict_judgements)
    options = ReadOptions(max_bytes=int(args.max_file_mib * 2**20), force_kind=args.kind)
    jobs = args.jobs or os.cpu_count() or 1
    measured = coverage.Coverage() if args.coverage or args.min_coverage is not None else None
    entries: Iterable[Any] = (entry for given in args.paths for entry in walk_inputs(Path(given), given))
    live = contextlib.nullcontext(None)
    if wanted(stderr, args.quiet):  # files done of all: the walk is listed first (paths only), on a terminal only
        entries = list(entries)
        files = sum(1 for entry in entries if not isinstance(entry, ReadError | Note))
        if files > 1:
            live = LiveProgress("validate", total=files, stream=stderr)
    with live as progress, coverage.collecting(measured) if measured is not None else contextlib.nullcontext():
        for item in _checked_items(entries, options, checker, jobs, measured, progress):
            results.add(item)
    return _emit(results, args, stdout, stderr, measured)


def _check_usage(args: argparse.Namespace) -> None:
    unknown = [code for code in args.disable if code not in DISABLEABLE_CODES]
    if unknown:
        schema = [code for code in unknown if code in SCHEMA_CODES]
        hint = "schema codes cannot be switched off" if schema else "see --list-codes"
        raise UsageError(f"--disable: unknown or non-switchable code {', '.join(unknown)} ({hint})")
    if not args.list_codes and not args.paths:
        raise UsageError("no PATH given (a file or directory of recorded bodies or traffic)")
    if not args.max_file_mib > 0:
        raise UsageError("--max-file-mib must be positive")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or more")


def list_codes() -> str:
    groups = (
        ("schema", SCHEMA_CODES),
        ("rule (switch off with --disable)", RULE_CODES),
        ("traffic (switch off with --disable)", TRAFFIC_CODES),
        ("fuzz: job lifecycle (hume-contracts fuzz)", LIFECYCLE_CODES),
        ("fuzz: stream sessions (hume-contracts fuzz)", STREAM_CODES),
        ("fuzz: other checks (hume-contracts fuzz)", FUZZ_CODES),
        ("v1 (switch off with --disable)", V1_CODES),
        ("v1 client findings (hume-contracts proxy; never counted against the server)", CLIENT_CODES),
    )
    width = max(len(code) for _, codes in groups for code in codes)
    lines = ["each code with its evidence grade; a judgement is a warning unless --strict-judgements"]
    for title, codes in groups:
        lines.append(f"{title}:")
        lines += [f"  {code:<{width}}  {grade_of(code).value:<10} {meaning}" for code, meaning in codes.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- checks


class BodyChecker:
    """Turns read items into findings, using the contract's validators (imported once)."""

    def __init__(self, disabled: Collection[str], strict_requests: bool = False, closed_world: bool = False) -> None:
        from contracts import traffic
        from contracts.apis import detect_kind
        from contracts.validation import validate_body

        self.disabled = disabled
        self.strict_requests = strict_requests
        self.closed_world = closed_world
        self._state_key: tuple[str, str] | None = None
        self._state: Any = None
        self._validate_body: Callable[..., list[Any]] = validate_body
        self._detect_kind: Callable[[Any], str | None] = detect_kind
        self._traffic = traffic

    def check(self, item: Item, reply: BodyItem | None = None) -> list[Finding | ReadError | Note | RejectedRequest]:
        """Results of one item; ``reply`` is the stream frame that answered a sent one, if any."""
        if isinstance(item, BodyItem):
            kind = item.kind or self._detect_kind(item.body)
            if kind is not None and kind not in KINDS:  # another version's: its adapter judges it
                return self._check_versioned_body(item, kind)
            checked = self.check_body(item)
            if item.kind == "stream-payload" and isinstance(checked, Finding) and not self.strict_requests:
                return [self._judge_sent_frame(checked, reply)]
            return [checked]
        if isinstance(item, HttpInteraction):
            api = _api_of_path(item.path)
            if api is not None:
                state = self._traffic_state(api.name, item.source)
                return api.adapter().check_interaction(item, state=state, **self._options())
            return self._traffic.check_interaction(item, disabled=self.disabled, strict_requests=self.strict_requests)
        if isinstance(item, SessionItem):
            from contracts.apis import get_api

            return list(get_api(item.api).adapter().judge_session(item, **self._options()))
        return [item]

    def _traffic_state(self, api_name: str, source: str) -> Any:
        """What this file's earlier interactions of ``api_name`` said (kept for the current file only)."""
        from contracts.apis import get_api

        if self._state_key != (api_name, source):
            self._state_key = (api_name, source)
            make = getattr(get_api(api_name).adapter(), "new_traffic_state", None)
            self._state = make() if make is not None else None
        return self._state

    def _options(self) -> dict[str, Any]:
        return {"disabled": self.disabled, "strict_requests": self.strict_requests, "closed_world": self.closed_world}

    def _judge_sent_frame(self, finding: Finding, reply: BodyItem | None) -> Finding | Note | RejectedRequest:
        """A sent stream payload that breaks the contract, judged like an HTTP request by its answer: an
        error frame is a correct rejection, any other reply means the server accepted it."""
        if finding.ok:
            return finding
        first = finding.violations[0].describe() + (
            f"; {len(finding.violations) - 1} more" if len(finding.violations) > 1 else ""
        )
        if reply is None and not finding.location:  # a file the user named as one payload: judged as a body
            return finding
        if reply is None:
            return Note(finding.source, finding.location, f"breaks the contract ({first}); no reply recorded")
        if isinstance(reply.body, dict) and "error" in reply.body:
            answer = f"error frame {reply.body.get('code') or '(no code)'}"
            return RejectedRequest(finding.source, finding.location, answer, finding.violations)
        accepted = Violation(
            code="invalid-request-accepted",
            pointer=finding.violations[0].pointer,
            expected="an error frame",
            found=f"a reply ({reply.location})",
            schema_path=finding.violations[0].schema_path,
            message=f"the payload breaks the contract ({first}) but was answered without an error ({reply.location})",
        )
        violations = [accepted] if "invalid-request-accepted" not in self.disabled else []
        return Finding(finding.source, finding.location, finding.kind, violations)

    def check_body(self, item: BodyItem) -> Finding | ReadError:
        kind = item.kind or self._detect_kind(item.body)
        if kind is None:
            return unknown_kind(item.source, item.location)
        violations = self._validate_body(item.body, kind, disabled=self.disabled)
        return Finding(item.source, item.location, kind, [v for v in violations if v.code not in self.disabled])

    def _check_versioned_body(self, item: BodyItem, kind: str) -> Any:
        from contracts.apis import api_for_kind

        adapter = api_for_kind(kind).adapter()
        finding = Finding(
            item.source, item.location, kind, adapter.validate_body(item.body, kind, disabled=self.disabled)
        )
        return adapter.settle(finding, self.closed_world)


def _api_of_path(path: str) -> Any:
    """The registry's version for a recorded path, when it is not v0 (v0 keeps its own traffic checks)."""
    from contracts.apis import api_for_path

    api = api_for_path(path)
    return api if api is not None and api.name != "v0" else None


def unknown_kind(source: str, location: str) -> ReadError:
    return ReadError(
        source, location, f"cannot tell which kind of body this is (expected one of {', '.join(KINDS)}); pass --kind"
    )


def _checked_items(
    entries: Iterable[Any],
    options: ReadOptions,
    checker: BodyChecker,
    jobs: int = 1,
    measured: coverage.Coverage | None = None,
    progress: LiveProgress | None = None,
) -> Iterator[Any]:
    """The results of every walked entry, in order; ``progress`` (on a terminal) told of each file done."""
    if jobs > 1:
        yield from _checked_in_parallel(list(entries), options, checker, jobs, measured, progress)
        return
    for entry in entries:
        if isinstance(entry, ReadError | Note):
            yield entry
        else:
            yield from _checked_file(*entry, options, checker)
            _file_done(progress, entry[1])


def _file_done(progress: LiveProgress | None, source: str | None = None) -> None:
    if progress is not None:
        progress.update(f"validate: …{printable(source)[-30:]}" if source else None, advance=1)


def _checked_in_parallel(
    entries: list[Any],
    options: ReadOptions,
    checker: BodyChecker,
    jobs: int,
    measured: coverage.Coverage | None,
    progress: LiveProgress | None = None,
) -> Iterator[Any]:
    """The results of every file, checked in ``jobs`` processes, in the order of ``entries``."""
    initargs = (checker.disabled, checker.strict_requests, measured is not None, checker.closed_world)
    with ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=initargs) as pool:
        pending = [
            entry if isinstance(entry, ReadError | Note) else pool.submit(_check_in_worker, *entry, options)
            for entry in entries
        ]
        for entry in pending:
            if isinstance(entry, ReadError | Note):
                yield entry
                continue
            found, seen = entry.result()
            if measured is not None and seen is not None:
                measured.merge(coverage.Coverage.from_counts(*seen))
            yield from found
            _file_done(progress)


_WORKER_CHECKER: BodyChecker | None = None
_WORKER_MEASURES = False


def _start_worker(
    disabled: Collection[str], strict_requests: bool, measures: bool = False, closed_world: bool = False
) -> None:
    global _WORKER_CHECKER, _WORKER_MEASURES
    _WORKER_CHECKER, _WORKER_MEASURES = BodyChecker(disabled, strict_requests, closed_world), measures


def _check_in_worker(path: Path, source: str, options: ReadOptions) -> tuple[list[Any], Any]:
    """One file's results, and (with coverage on) what it covered, as plain counters a pipe can carry."""
    assert _WORKER_CHECKER is not None
    if not _WORKER_MEASURES:
        return list(_checked_file(path, source, options, _WORKER_CHECKER)), None
    with coverage.collecting(coverage.Coverage()) as measured:
        found = list(_checked_file(path, source, options, _WORKER_CHECKER))
    return found, (dict(measured.seen), dict(measured.unknown))


def file_results(
    path: Path,
    source: str,
    checker: BodyChecker,
    options: ReadOptions | None = None,
    strict_judgements: bool = False,
) -> report.Results:
    """Everything `validate` finds in one file (the pytest plugin's recording items use this)."""
    results = report.Results(strict_judgements=strict_judgements)
    for item in _checked_file(path, source, options or ReadOptions(), checker):
        results.add(item)
    return results


def _checked_file(path: Path, source: str, options: ReadOptions, checker: BodyChecker) -> Iterator[Any]:
    """Every result of one file; an unexpected failure on one item is reported as a read error of
    that item (never a traceback), and reading goes on."""
    streamed = _checked_item_by_item(path, source, options, checker)
    if streamed is not None:
        yield streamed
        return
    items = with_stream_replies(read_path(path, source, options))
    while True:
        try:
            item, reply = next(items)
        except StopIteration:
            return
        except MemoryError as error:  # the reader's memory is freed with its frames; the run goes on
            items.close()
            yield ReadError(source, "", f"{_out_of_memory(error)} reading it; the rest of this file is not checked")
            return
        try:
            yield from checker.check(item, reply)
        except RecursionError:
            yield ReadError(source, _location(item), "nested too deeply to check")
        except MemoryError as error:
            yield ReadError(source, _location(item), f"{_out_of_memory(error)} checking it")
        except Exception as error:  # a checker bug must not hide the rest of the run
            yield ReadError(source, _location(item), f"could not be checked: {type(error).__name__}: {error}")


def _out_of_memory(error: MemoryError) -> str:
    """A read error's words for running out of memory (never a contract violation: the input may be fine)."""
    return f"out of memory ({error})" if str(error) else "out of memory"


MAX_UNANSWERED = 64  # sent frames waiting for their reply; beyond, the oldest is judged without one


def with_stream_replies(items: Iterator[Item]) -> Iterator[tuple[Item, BodyItem | None]]:
    """Each item with, for a sent stream frame, the received frame that answered it (replies come in
    the order of the payloads, one each). Order is kept; memory is bounded by ``MAX_UNANSWERED``."""
    waiting: list[BodyItem] = []
    for item in items:
        sent = isinstance(item, BodyItem) and item.kind == "stream-payload"
        received = isinstance(item, BodyItem) and item.kind == "stream-message"
        if sent and len(waiting) < MAX_UNANSWERED:
            waiting.append(item)
            continue
        if received and waiting:
            yield waiting.pop(0), item
        while waiting and not received:
            yield waiting.pop(0), None
        if sent:
            waiting.append(item)
        else:
            yield item, None
    for item in waiting:
        yield item, None


def _checked_item_by_item(path: Path, source: str, options: ReadOptions, checker: BodyChecker) -> Any | None:
    """The finding of a big predictions body read item by item; None for any other file (read it whole)."""
    from contracts import incremental

    try:
        size = path.stat().st_size
        if path.suffix.lower() not in JSON_EXTENSIONS or not STREAM_FROM_BYTES <= size <= options.max_bytes:
            return None
        with path.open("rb") as handle:
            if not options.force_kind and incremental.opens_with_a_scalar(handle):
                return unknown_kind(source, "")  # as read whole, without holding a 200 MB string
            kind = options.force_kind or incremental.streamable_kind(handle)
            if kind not in incremental.ITEM_PATTERNS:
                return None
            violations = incremental.validate_file(handle, kind, disabled=checker.disabled, max_depth=MAX_DEPTH)
    except OSError as error:
        return ReadError(source, "", f"cannot read: {error.strerror or error}")
    except incremental.UnreadableJson as error:
        return ReadError(source, "", str(error))
    except MemoryError as error:
        return ReadError(source, "", f"{_out_of_memory(error)} checking it")
    return Finding(source, "", kind, violations)


def _location(item: Item) -> str:
    return getattr(item, "location", "")


# --------------------------------------------------------------------------------------------- output


def _emit(
    results: report.Results,
    args: argparse.Namespace,
    stdout: TextIO,
    stderr: TextIO,
    measured: coverage.Coverage | None = None,
) -> int:
    """Write the report (stdout or --output), --report DIR and the diagnostics; return the exit status."""
    report_written = _write_report_dir(args.report, results, measured, stderr)
    data_format = "json" if args.format == "html" else args.format  # the page is drawn from the JSON report
    if data_format == "text":
        rendered = report.render_text(results, verbose=args.verbose)
    else:
        rendered = report.RENDERERS[data_format](results)
    exit_code = results.exit_code
    if measured is not None:
        rendered, exit_code = _with_coverage(rendered, exit_code, args, measured, stderr, data_format)
    if args.format == "html":
        rendered = html_report.render_validate(json.loads(rendered))
    if args.output:
        try:
            Path(args.output).write_text(rendered, encoding="utf-8")
        except OSError as error:
            print(f"{PROG}: error: cannot write {printable(args.output)}: {error.strerror or error}", file=stderr)
            exit_code = 2
        stdout.write(report.summary_line(results) + "\n")
    else:
        stdout.write(rendered)
    if args.output or args.format != "text":  # the errors are not on the terminal otherwise
        for error in results.errors:
            print(f"{PROG}: error: {printable(error.describe())}", file=stderr)
    if args.verbose and (args.output or args.format != "text"):
        for note in results.notes:
            print(f"{PROG}: note: {printable(note.describe())}", file=stderr)
    return exit_code if report_written else 2


def _write_report_dir(
    directory: Path | None, results: report.Results, measured: coverage.Coverage | None, stderr: TextIO
) -> bool:
    """``--report DIR``, if asked for, written before stdout (a reader that stops early, ``| head``, must not cost
    the files); False when it could not be, said in one line."""
    if directory is None:
        return True
    try:
        write_report_dir(directory, _report_dir_renderings(results, measured))
    except UnwritableReport as error:
        print(f"{PROG}: error: {error}", file=stderr)
        return False
    return True


def _report_dir_renderings(results: report.Results, measured: coverage.Coverage | None) -> dict[str, str]:
    """What ``--report DIR`` holds: the JSON report (with the coverage map), the JUnit, and the page drawn from the
    JSON. Conforming bodies are kept only for ``--format junit`` (bounded memory): otherwise the JUnit counts them
    in one case per kind, as the proxy's does."""
    rendered_json = report.render_json(results)
    if measured is not None:
        rendered_json = _json_with_coverage(rendered_json, measured)
    return {
        "json": rendered_json,
        "junit": report.render_junit(results),
        "html": html_report.render_validate(json.loads(rendered_json)),
    }


def _json_with_coverage(rendered: str, measured: coverage.Coverage) -> str:
    """The JSON report with the full coverage map under ``coverage``."""
    document = json.loads(rendered)
    document["coverage"] = measured.to_json()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _with_coverage(
    rendered: str,
    exit_code: int,
    args: argparse.Namespace,
    measured: coverage.Coverage,
    stderr: TextIO,
    data_format: str,
) -> tuple[str, int]:
    """The report with the coverage in it (JSON: the full map; text: the summary; JUnit: summary on stderr),
    and the exit status once ``--min-coverage`` has had its say."""
    summary = measured.render_text(markdown=args.coverage_format == "markdown")
    if data_format == "json":
        rendered = _json_with_coverage(rendered, measured)
    elif data_format == "text":
        rendered = rendered.rstrip("\n") + "\n\n" + summary + "\n"
    else:
        print(summary, file=stderr)
    if args.min_coverage is not None and measured.percent < args.min_coverage and exit_code == 0:
        print(f"{PROG}: coverage {measured.percent:.1f}% is under --min-coverage {args.min_coverage:g}%", file=stderr)
        exit_code = 1
    return rendered, exit_code


if __name__ == "__main__":
    raise SystemExit(main())
