"""schemathesis's own CLI, with every check and every phase, finds nothing wrong with the mock.

Two documented answers of the API look like "valid data rejected" to schemathesis's generic
`positive_data_acceptance`, so the configuration below adds 400 to what that check accepts there, and
only there:
- `GET /v0/batch/jobs/{id}/predictions` and `/artifacts` answer 400 while the job has not ended (its
  stateful phase asks right after creating a job);
- the multipart `json` part is a string whose *content* is an `InferenceBaseRequest`. The contract says
  so with `contentMediaType`/`contentSchema`, which JSON Schema treats as annotations: schemathesis
  generates arbitrary strings there, and a correct server rejects the ones that are not a JSON object.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import fast_config

import openapi
from mockserver import running_mock

KEY = "schemathesis-cli-key"
ACCEPTED = '["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]'
CONFIG = f"""
[auth.openapi.api_key]
api_key = "{KEY}"

[[operations]]
include-name = "POST /v0/batch/jobs"
checks.positive_data_acceptance.expected-statuses = {ACCEPTED}

[[operations]]
include-name-regex = "^GET /v0/batch/jobs/\\\\{{id\\\\}}/(predictions|artifacts)$"
checks.positive_data_acceptance.expected-statuses = {ACCEPTED}
"""


def test_schemathesis_cli_with_all_checks_passes_against_the_mock(tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    st = Path(sys.executable).with_name("st")
    with running_mock(fast_config(api_key=KEY)) as mock:
        command = [
            str(st),
            "--config-file",
            str(config),
            "run",
            str(openapi.REPAIRED_PATH),
            "--url",
            mock.base_url,
            "--checks",
            "all",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--no-color",
        ]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout
    assert "Stateful" in done.stdout and "Coverage" in done.stdout
