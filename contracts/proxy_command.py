"""A live validating reverse proxy: point your app or the official SDK at it instead of Hume.

Every request, response and stream frame passes through unchanged (status, headers, bytes, frame order,
close codes), and each response and each frame, both directions, is checked with the checks of
`hume-contracts validate`, plus what a stream reply must repeat of its frame (payload_id, every requested
model answered or warned about, job_details when asked). Each violation prints one line as it happens;
at stop (Ctrl-C or SIGTERM) a summary, and the report files and HAR that `validate` reads back.

  hume-contracts proxy --target https://api.hume.ai --port 8788 --record session.har --report out/
  # then point the SDK at it: HumeClientEnvironment(base="http://127.0.0.1:8788",
  #                                                   stream="ws://127.0.0.1:8788/v0/stream", ...)

v1 realtime sessions are judged as sessions, live; the client's own documented mistakes (a session.update
after media, an odd audio frame, a message over the size limit, media faster than the send rate) are client
findings, shown apart and never counted against the server.

--strict turns a violating response into a 502 problem+json that names the violation, and ends a stream
whose server frame breaks the contract with close code 4502 and a reason naming it, so integration
tests fail loudly. Keys clients send (X-Hume-Api-Key, ?apikey=) are never printed or written.

Findings graded a judgement of this suite are warnings (in the reports, failing nothing) unless
--strict-judgements.

Stopping: the first Ctrl-C or SIGTERM lets exchanges in flight (and their checks) end for up to 5 s, then
cuts them off; the files are written either way (a second Ctrl-C only skips the wait). "wrote X" is
printed only for files that were written; a file that could not be is named on stderr, and the exit
code is then 2.

exit codes: 0 no violation seen, 1 violations seen, 2 usage error, the port could not be bound, or a
report or HAR file could not be written
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from contracts.progress import LiveProgress
from contracts.proxy import ProxyOptions, ProxySession, listen, serve, uvicorn_config

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE = 0, 1, 2
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, help="the API to forward to, e.g. https://api.hume.ai")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8788, help="port (default 8788; 0: any free port)")
    parser.add_argument("--record", type=Path, metavar="FILE.har", help="write the session as a HAR file at stop")
    parser.add_argument(
        "--report", type=Path, metavar="DIR", help="write junit.xml, report.json, report.md, report.html at stop"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="answer a violating response with a 502 instead; end a violating stream with close 4502",
    )
    parser.add_argument("--disable", action="append", default=[], metavar="CODE", help="skip this check (repeatable)")
    parser.add_argument(
        "--strict-judgements",
        action="store_true",
        help="count findings graded a judgement of this suite as violations (by default: warnings, exit 0)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="seconds for each read from the target (30)"
    )
    parser.add_argument("--coverage", action="store_true", help="at stop, say which parts of the contract were used")
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback interface")
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no live running totals (on stderr, only when it is a terminal)"
    )


def run(args: argparse.Namespace) -> int:
    target = httpx.URL(args.target)
    if target.scheme not in ("http", "https") or not target.host:
        print(f"hume-contracts proxy: --target must be an http(s) URL, got {args.target!r}", file=sys.stderr)
        return EXIT_USAGE
    if not args.allow_remote and args.host not in LOOPBACK:
        print(f"hume-contracts proxy: refusing to bind {args.host}: not loopback (--allow-remote)", file=sys.stderr)
        return EXIT_USAGE
    try:
        listener = listen(args.host, args.port)
    except OSError as error:  # a port in use is one line, not a traceback
        reason = error.strerror or str(error)
        print(f"hume-contracts proxy: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    if (problem := _unwritable_report(args.report)) is not None:
        listener.close()
        print(f"hume-contracts proxy: {problem}", file=sys.stderr)
        return EXIT_USAGE
    known = [os.environ["HUME_API_KEY"]] if os.environ.get("HUME_API_KEY") else []
    sessions: list[ProxySession] = []  # the live display (a terminal only) reads the session's counts
    with LiveProgress("proxy", quiet=args.quiet, running_totals=lambda: _running_totals(sessions)):
        options = ProxyOptions(
            args.target,
            args.record,
            args.report,
            args.strict,
            args.disable,
            known,
            sys.stdout,
            timeout=args.timeout,
            coverage=args.coverage,
        )
        try:
            session = ProxySession(options)
        except OSError as error:  # the HAR's spool file, next to it, cannot be created
            listener.close()
            print(
                f"hume-contracts proxy: cannot write the HAR {args.record}: {error.strerror or error}", file=sys.stderr
            )
            return EXIT_USAGE
        session.results.results.strict_judgements = args.strict_judgements  # judgements: warnings unless strict
        sessions.append(session)
        port = listener.getsockname()[1]
        print(f"hume-contracts proxy on http://{args.host}:{port} -> {args.target}  (Ctrl-C stops)", flush=True)
        with _stop_signals_end_the_server(), session.collecting():
            serve(uvicorn.Server(uvicorn_config(session.core, args.host, port, options)), [listener])
        session.finish()
    print(session.results.summary())
    if session.coverage is not None:
        print(session.coverage.render_text())
    for path in session.written:
        print(f"wrote {path}")
    for problem in session.problems:
        print(f"hume-contracts proxy: {problem}", file=sys.stderr)
    code = EXIT_USAGE if session.problems else EXIT_VIOLATIONS if session.results.violations else EXIT_OK
    _exit_now_if_checks_linger(code)
    return code


def _running_totals(sessions: list[ProxySession]) -> str:
    if not sessions:
        return "starting"
    results = sessions[0].results  # counters read without the lock: a display may be one exchange behind
    faults = f", {results.faults} answered by proxy" if results.faults else ""
    client = f", {results.client.count} client findings" if results.client.count else ""
    return f"{results.exchanges} exchanges, {results.frames} frames, {results.violations} violations{faults}{client}"


def _unwritable_report(directory: Path | None) -> str | None:
    """Why ``--report DIR`` could not be written, found before serving rather than at stop."""
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"cannot write the report to {directory}: {error.strerror or error}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"cannot write the report to {directory}: permission denied"
    return None


def _exit_now_if_checks_linger(code: int) -> None:
    """A check the stop abandoned (a huge body) may still run in a worker thread; the interpreter would wait
    for it at exit. The files and the summary are out: leave now."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@contextlib.contextmanager
def _stop_signals_end_the_server() -> Iterator[None]:
    """uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again for the previous handler:
    with a handler that only takes note, the summary and the files are still written after it."""
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
