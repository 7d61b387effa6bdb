"""Benchmark: issue 15's reader, rebase, diff and coverage cases under a 2 GiB address-space cap, reported only.

    .venv/bin/python -m bench.hostile_round3                        # this checkout
    .venv/bin/python -m bench.hostile_round3 --tree /tmp/before      # another checkout (its code first on the path)
    .venv/bin/python -m bench.hostile_round3 --only diff --timeout 60

Each case runs `hume-contracts` in its own process with ``RLIMIT_AS`` at 2 GiB, stopped at ``--timeout``;
memory is the child's peak resident set. The external-`$ref` case also says whether the loopback listener the
document names was connected to and whether the secret file's content reached the output.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAP = 2 * 2**30
SECRET = "db_password=bench-round3"
CHILD = "import sys; from contracts.cli import main; sys.exit(main(sys.argv[1:]))"


def _cassette(bodies: list[bytes]) -> str:
    lines = ["version: 1", "interactions:"]
    for body in bodies:
        lines += [
            "- request: {method: GET, uri: 'https://api.hume.ai/v0/batch/jobs', body: null, headers: {}}",
            "  response:",
            "    status: {code: 200, message: OK}",
            "    headers: {Content-Type: [application/json], Content-Encoding: [br]}",
            f"    body: {{string: !!binary '{base64.b64encode(body).decode()}'}}",
        ]
    return "\n".join(lines) + "\n"


def _tiny_cassette(path: Path, interactions: int) -> None:
    one = (
        "- request: {method: GET, uri: 'https://api.hume.ai/v0/batch/jobs', body: null, headers: {}}\n"
        "  response: {status: {code: 200, message: OK}, headers: {Content-Type: [application/json]}, "
        "body: {string: '[]'}}\n"
    )
    with path.open("w") as handle:
        handle.write("version: 1\ninteractions:\n")
        for _ in range(interactions):
            handle.write(one)


def _openapi(schemas: dict) -> dict:
    schema = {"$ref": "#/components/schemas/S0"}
    response = {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "bench", "version": "1"},
        "paths": {"/v0/batch/jobs": {"get": {"responses": response}}},
        "components": {"schemas": schemas},
    }


def _fan_out(levels: int, shape: str) -> dict:
    schemas: dict = {}
    for level in range(levels):
        ref = {"$ref": f"#/components/schemas/S{level + 1}"}
        if shape == "siblings":
            properties = {"a": {**ref, "description": "a"}, "b": {**ref, "description": "b"}}
            schemas[f"S{level}"] = {"type": "object", "properties": properties}
        else:
            schemas[f"S{level}"] = {"oneOf": [dict(ref), {"allOf": [dict(ref)]}]}
    schemas[f"S{levels}"] = {"type": "object", "properties": {"x": {"type": "integer"}}}
    return _openapi(schemas)


def _wide(count: int) -> dict:
    schemas = {
        f"S{i}": {
            "type": "object",
            "required": ["a"],
            "properties": {"a": {"type": "string"}, "b": {"$ref": f"#/components/schemas/S{(i + 1) % count}"}},
        }
        for i in range(1, count)
    }
    schemas["S0"] = {
        "type": "object",
        "properties": {f"p{i}": {"$ref": f"#/components/schemas/S{i}"} for i in range(1, count)},
    }
    return _openapi(schemas)


def _changed(document: dict) -> dict:
    """The same document with the type of one leaf changed (so that a diff has something to find)."""
    changed = json.loads(json.dumps(document))
    for schema in changed["components"]["schemas"].values():
        leaf = schema.get("properties", {}).get("x")
        if leaf:
            leaf["type"] = "string"
    return changed


def write_cases(directory: Path, port: int) -> list[tuple[str, str, list[str]]]:
    """(group, label, arguments) of every case."""
    import brotli

    cases: list[tuple[str, str, list[str]]] = []
    secret = directory / "secret.txt"
    secret.write_text(SECRET + "\n")
    external = _openapi({"S0": {"$ref": secret.as_uri()}, "S1": {"$ref": f"http://127.0.0.1:{port}/s.json"}})
    (directory / "external.json").write_text(json.dumps(external))
    cases.append(
        (
            "security",
            "spec --rebase, $ref file:// secret + http:// loopback",
            ["spec", "--rebase", str(directory / "external.json")],
        )
    )

    array = directory / "br_array_64mib.yaml"
    array.write_text(_cassette([brotli.compress(b"[" + b"0," * (32 * 2**20 - 1) + b"0]", quality=11)]))
    cases.append(
        ("readers", f"vcrpy cassette {array.stat().st_size} B, br body -> 64 MiB [0,0,...]", ["validate", str(array)])
    )
    bombs = directory / "br_bombs.yaml"
    bombs.write_text(_cassette([brotli.compress(b"a" * (64 * 2**20), quality=9)] * 100))
    cases.append(
        (
            "readers",
            f"vcrpy cassette {bombs.stat().st_size // 1000} KB, 100 br bodies of 64 MiB",
            ["validate", str(bombs)],
        )
    )
    zeros = directory / "zeros.json"
    zeros.write_text("[" + "0," * 999_999 + "0]")
    cases.append(
        ("readers", "2 MB [0,0,...] as --kind jobs (1M invalid items)", ["validate", "--kind", "jobs", str(zeros)])
    )
    tiny = directory / "tiny_400k.yaml"
    _tiny_cassette(tiny, 400_000)
    cases.append(
        (
            "readers",
            f"YAML cassette {tiny.stat().st_size / 1e6:.1f} MB, 400k tiny interactions",
            ["validate", str(tiny)],
        )
    )

    for label, document in (
        ("oneOf/allOf fan-out, 40 levels", _fan_out(40, "oneOf")),
        ("$ref-with-siblings fan-out, 40 levels", _fan_out(40, "siblings")),
        ("10,000 schemas", _wide(10_000)),
        ("20,000 schemas", _wide(20_000)),
    ):
        name = label.split(",")[0].replace("/", "-").replace(" ", "_").replace("$", "")
        old, new = (
            directory / f"{name}_{len(document['components']['schemas'])}.old.json",
            directory / f"{name}_{len(document['components']['schemas'])}.new.json",
        )
        old.write_text(json.dumps(document))
        new.write_text(json.dumps(_changed(document)))
        cases.append(("diff", f"diff, {label} ({old.stat().st_size // 1000} KB)", ["diff", str(old), str(new)]))
        cases.append(("rebase", f"spec --rebase, {label}", ["spec", "--rebase", str(old)]))
    fifo = directory / "fifo.yaml"
    os.mkfifo(fifo)
    cases.append(("diff", "diff against /dev/zero", ["diff", "openapi/repaired.yaml", "/dev/zero"]))
    cases.append(("diff", "diff against a FIFO nobody writes", ["diff", "openapi/repaired.yaml", str(fifo)]))

    deep = directory / "deep_report.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    listed = directory / "list_report.json"
    listed.write_text(json.dumps({"areas": {"fields": ["a"]}, "unknown": ["x"]}))
    cases.append(("coverage", "coverage, report nested 100,000 deep", ["coverage", str(deep)]))
    cases.append(("coverage", "coverage, lists where maps belong", ["coverage", str(listed)]))
    cases.append(("coverage", "coverage --min-coverage nan", ["coverage", str(listed), "--min-coverage", "nan"]))
    return cases


class Listener:
    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def measure(arguments: list[str], tree: Path, timeout: float) -> dict[str, object]:
    """Exit code, seconds, peak RSS (MB) and the last stderr line of one run, in a fresh capped process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, *arguments],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=err,
            preexec_fn=_capped,  # noqa: PLW1509 - the cap is the point
        )
        status, usage, killed = _wait(process.pid, started + timeout)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        said = err.read().decode(errors="replace").strip().splitlines()
        printed = out.read().decode(errors="replace")
    return {
        "exit": f"killed at {timeout:g} s" if killed else os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 1),
        "peak_mb": round(usage.ru_maxrss / 1024),
        "said": (said[-1] if said else "")[:160],
        "out": printed,
    }


def _wait(pid: int, deadline: float) -> tuple[int, resource.struct_rusage, bool]:
    """The child's exit status and its own resource usage (killed at ``deadline``)."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, False
        if time.perf_counter() > deadline:
            os.kill(pid, 9)
            _, status, usage = os.wait4(pid, 0)
            return status, usage, True
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--only", nargs="*", help="groups: security readers diff rebase coverage")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    listener = Listener()
    with tempfile.TemporaryDirectory() as directory:
        for group, label, arguments in write_cases(Path(directory), listener.port):
            if args.only and group not in args.only:
                continue
            result = measure(arguments, args.tree.resolve(), args.timeout)
            if group == "security":
                result["connections"] = listener.connections
                result["secret_leaked"] = SECRET in str(result["out"])
            result.pop("out")
            print(json.dumps({"group": group, "case": label, **result}), flush=True)
    listener.running = False


if __name__ == "__main__":
    main()
