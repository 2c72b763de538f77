"""The README's walkthrough works as written, against a real server on a fresh database."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.servers import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
KITDESK = ROOT / ".venv" / "bin" / "kitdesk"
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def _walkthrough_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Walkthrough with curl", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    blocks = _walkthrough_blocks()
    assert len(blocks) >= 3
    port = free_port()
    env = {
        **os.environ,
        "KITDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'walkthrough.db'}",
        "KITDESK_DEMO_API_KEY": "demo-key-0123456789",
        "KITDESK_DEMO_OPERATOR_KEY": "ops-key-0123456789",
        "KITDESK_PORT": str(port),
    }
    log = tmp_path / "server.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [str(KITDESK), "serve"], env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
        )
    try:
        wait = (
            f"for i in $(seq 1 600); do command curl -sf -o /dev/null "
            f"http://127.0.0.1:{port}/livez && break; sleep 0.1; done"
        )
        # Every curl prints its status code on a line of its own, so the test can read them.
        prelude = 'curl() { command curl -w "\\nHTTP %{http_code}\\n" "$@"; }\n'
        script = (
            prelude + wait + "\n" + "\n".join(blocks).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        )
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        stop(server)
    assert done.returncode == 0, done.stderr + log.read_text()
    codes = re.findall(r"^HTTP (\d{3})$", done.stdout, re.MULTILINE)
    # One request shows a rule at work (a loaner kit to a site); every other one succeeds.
    assert [c for c in codes if not c.startswith("2")] == ["400"], done.stdout
    assert "no_loaner_kit_to_site" in done.stdout
    assert "order 3 is now delivered" in done.stdout
    assert "internal_error" not in done.stdout
