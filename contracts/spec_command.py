"""Print the repaired contract (default), the upstream document (--upstream), or the repairs (--defects).

--api v1 prints the contract of Hume's live v1 API instead (its OpenAPI 3.1 document; with --stream its AsyncAPI
2.6 document of the two realtime channels). --api defaults to v0, whose contract this command has always printed.

--schemathesis-config prints the configuration that lets schemathesis's own `st run` use the repaired
contract against a Hume-compatible server (auth from $HUME_API_KEY, the answer no schema can say, and the
mock's stricter job bodies).

--write regenerates the committed outputs (openapi/overlay.names.yaml, openapi/repaired.yaml) from the
upstream document and openapi/overlay.yaml; --check exits 1 when the committed outputs are stale.

--rebase NEW_UPSTREAM re-applies every repair to another upstream document and reports, per repair: applied
(still needed), redundant (upstream now says the same), or needs review (target gone or changed shape, with what
is there now). It checks the result with openapi-spec-validator and re-validates every real recording against
it; --output FILE writes the rebased document (JSON when FILE ends in .json). Exit 0 when every repair applied
or is redundant, the result is valid and every recording passes; 1 otherwise; 2 for an unreadable document.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

import openapi


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--upstream", action="store_true", help="the published document, as vendored (unrepaired)")
    what.add_argument("--defects", action="store_true", help="list every repair with its evidence, one line each")
    what.add_argument("--stream", action="store_true", help="the stream contract (AsyncAPI) instead")
    what.add_argument(
        "--schemathesis-config",
        action="store_true",
        help="the schemathesis.toml for `st run` with the repaired contract (key from $HUME_API_KEY)",
    )
    what.add_argument("--write", action="store_true", help="regenerate the committed repaired document")
    what.add_argument("--check", action="store_true", help="exit 1 if the committed repaired document is stale")
    what.add_argument("--rebase", metavar="NEW_UPSTREAM", help="re-apply the repairs to another upstream document")
    parser.add_argument(
        "--api",
        default="v0",
        metavar="VERSION",
        help="which API's contract: v0 (default; switched off by Hume on 14 June 2026) or v1 (the live API)",
    )
    parser.add_argument("--output", metavar="FILE", help="with --rebase: write the rebased document to FILE")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default yaml)")


def defect_lines() -> list[str]:
    """One line per repair (an `x-defect`, which may take several overlay actions), with its evidence."""
    repairs: dict[str, dict[str, Any]] = {}
    for overlay in (openapi.load_overlay(), openapi.load_names_overlay()):
        for action in overlay["actions"]:
            defect = action.get("x-defect", "unnamed")
            entry = repairs.setdefault(defect, {"summary": "", "evidence": [], "n": 0})
            entry["summary"] = entry["summary"] or action.get("x-summary") or action.get("description", "")
            entry["n"] += 1
            for source in action.get("x-evidence", []):
                if source not in entry["evidence"]:
                    entry["evidence"].append(source)
    width = max(map(len, repairs))
    lines = []
    for defect, entry in repairs.items():
        summary = " ".join(entry["summary"].split())
        summary = re.split(r"\.\s+(?=[A-Z])", summary)[0].rstrip(".")
        lines.append(f"{defect:<{width}}  {summary}. Evidence: {'; '.join(entry['evidence']) or 'n/a'}")
    return lines


def _stale() -> list[str]:
    names, repaired = openapi.build_repaired()
    stale = []
    if openapi.load_names_overlay() != names:
        stale.append(str(openapi.NAMES_OVERLAY_PATH))
    if openapi.load_repaired() != repaired:
        stale.append(str(openapi.REPAIRED_PATH))
    return stale


_V0_ONLY = ("upstream", "defects", "schemathesis_config", "write", "check", "rebase")


def _v1_document(args: argparse.Namespace) -> dict[str, Any] | None:
    """The v1 document asked for (None, with a message, for an option only v0 has)."""
    from contracts.apis import get_api

    v0_only = [
        flag
        for flag in ("upstream", "defects", "schemathesis_config", "write", "check", "rebase")
        if getattr(args, flag)
    ]
    if v0_only:
        print(
            f"--{v0_only[0].replace('_', '-')} applies to the v0 contract only (the v1 one has no upstream)",
            file=sys.stderr,
        )
        return None
    api = get_api(args.api)
    return api.load_asyncapi() if args.stream else api.load_openapi()


def run(args: argparse.Namespace) -> int:
    from contracts.apis import API_NAMES

    if args.api not in API_NAMES:
        print(f"--api: unknown API {args.api!r} (one of {', '.join(API_NAMES)})", file=sys.stderr)
        return 2
    if args.api != "v0":
        document = _v1_document(args)
        if document is None:
            return 2
        return _print(document, args.format)
    if args.rebase:
        from contracts.evolution.command import run_rebase

        return run_rebase(args.rebase, args.output, args.format)
    if args.output:
        print("--output goes with --rebase", file=sys.stderr)
        return 2
    if args.defects:
        print("\n".join(defect_lines()))
        return 0
    if args.schemathesis_config:
        sys.stdout.write(openapi.SCHEMATHESIS_CONFIG_PATH.read_text(encoding="utf-8"))
        return 0
    if args.write:
        for path in openapi.write_repaired():
            print(f"wrote {path}")
        return 0
    if args.check:
        stale = _stale()
        for path in stale:
            print(f"stale: {path} (run `hume-contracts spec --write`)", file=sys.stderr)
        return 1 if stale else 0
    if args.upstream:
        document = openapi.load_upstream()
    elif args.stream:
        document = openapi.load_stream_contract()
    else:
        document = openapi.load_repaired()
    return _print(document, args.format)


def _print(document: dict[str, Any], output_format: str) -> int:
    text = (
        json.dumps(document, indent=2, ensure_ascii=False) if output_format == "json" else openapi.dump_yaml(document)
    )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
