#!/usr/bin/env bash
# Compare `hume-contracts diff` with Optic's breaking-change CLI on the same pair of documents.
# Optic is installed here, by hand, into a scratch folder (never a dependency of the suite).
#
#   bash bench/optic_diff.sh [OLD NEW]     (default: Hume's 2023 batch OpenAPI -> openapi/repaired.yaml)
#
# Optic 1.0.9 from npm does not start as installed: npm nests ajv 8.20 under @stoplight/spectral-* next to
# an ajv-errors built against the hoisted ajv 8.17 ("Error compiling schema ... Unexpected token ':'").
# Removing the nested copies (so every package shares ajv 8.17) fixes it; Optic then runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:-../shared/hume/reference/hume-openapi-2023/fern-hume_hume-api_batch-openapi_2023-05-03_original.yaml}
NEW=${2:-openapi/repaired.yaml}
OPTIC_DIR=${OPTIC_DIR:-/tmp/hume-contracts-optic}
if [ ! -x "$OPTIC_DIR/node_modules/.bin/optic" ]; then
  mkdir -p "$OPTIC_DIR"
  (cd "$OPTIC_DIR" && npm install --no-audit --no-fund --silent @useoptic/optic@1.0.9)
  rm -rf "$OPTIC_DIR"/node_modules/@stoplight/spectral-{core,functions,rulesets}/node_modules/ajv
fi
WORK=$(mktemp -d)
cp "$OLD" "$WORK/old.yaml" && cp "$NEW" "$WORK/new.yaml"
echo "== optic diff (exit code follows) =="
(cd "$WORK" && OPTIC_TELEMETRY_LEVEL=off "$OPTIC_DIR/node_modules/.bin/optic" diff old.yaml new.yaml --check \
  --validation loose 2>&1 | grep -v "^invalid allOf variant" ; echo "optic exit: ${PIPESTATUS[0]}")
echo "== hume-contracts diff =="
.venv/bin/hume-contracts diff "$OLD" "$NEW" || echo "hume-contracts exit: $?"
rm -rf "$WORK"
