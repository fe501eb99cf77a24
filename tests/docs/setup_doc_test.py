#!/usr/bin/env python3
"""Keeps docs/setup.md true to the files and the program it describes.

- The JSON after <!-- deploy/iam-policy.json --> is that file's policy.
- The YAML after <!-- config/examples/one-tenant.yaml --> is that file.
- The text after <!-- check-config error example --> is what
  `presync check-config` prints for the broken copy the page describes.
- Host names appear only as real Microsoft or AWS configuration values.

usage: setup_doc_test.py REPO_ROOT PRESYNC_BINARY
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

PRESYNC = os.path.abspath(
    sys.argv.pop(2) if len(sys.argv) > 2 else "build/bin/presync")
ROOT = Path(sys.argv.pop(1) if len(sys.argv) > 1 else ".").resolve()
DOC = ROOT / "docs" / "setup.md"
EXAMPLE = ROOT / "config" / "examples" / "one-tenant.yaml"

# The broken copy of Step 6: a pasted secret, a misspelled key, a duration
# without a unit.
BREAKAGE = [
    ("client_secret_env: PRESYNC_GRAPH_SECRET",
     "client_secret_env: Xy7Q~pasted.secret-value"),
    ("      stream_name: presync-agent-events",
     "      stream: presync-agent-events"),
    ("min_hold: 15s", "min_hold: 15"),
]

# Host names the page may show: configuration values an admin really uses.
KNOWN_HOSTS = re.compile(
    r"^(sts\.amazonaws\.com|eks\.amazonaws\.com"
    r"|(connect|kinesis|sts)\.<region>\.amazonaws\.com"
    r"|login\.microsoftonline\.com|graph\.microsoft\.com)$")
HOST = re.compile(r"[A-Za-z0-9<>.-]+\.(?:com|net|org|io|dev|cloud|app)\b")


def block_after(marker, text):
    """Returns the fenced block that follows `<!-- marker -->`."""
    at = text.index("<!-- " + marker + " -->")
    match = re.compile(r"```[a-z]*\n(.*?)```", re.S).search(text, at)
    return match.group(1)


class SetupDoc(unittest.TestCase):
    def setUp(self):
        self.text = DOC.read_text()

    def test_policy_matches_deploy_file(self):
        shown = json.loads(block_after("deploy/iam-policy.json", self.text))
        file = json.loads((ROOT / "deploy" / "iam-policy.json").read_text())
        self.assertEqual(shown, file)

    def test_config_matches_example_file(self):
        shown = block_after("config/examples/one-tenant.yaml", self.text)
        self.assertEqual(shown, EXAMPLE.read_text())

    def test_check_config_output_is_real(self):
        broken = EXAMPLE.read_text()
        for old, new in BREAKAGE:
            self.assertIn(old, broken)
            broken = broken.replace(old, new, 1)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PRESYNC_API_TOKENS": "doc-token",
            "PRESYNC_GRAPH_SECRET": "doc-secret",
            "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/presync",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token",
        }
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "presync.yaml").write_text(broken)
            run = subprocess.run(
                [PRESYNC, "check-config", "presync.yaml"], cwd=folder,
                env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertEqual(run.stdout,
                         block_after("check-config error example", self.text))

    def test_example_passes_check_config(self):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PRESYNC_API_TOKENS": "doc-token",
            "PRESYNC_GRAPH_SECRET": "doc-secret",
            "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/presync",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token",
        }
        run = subprocess.run([PRESYNC, "check-config", str(EXAMPLE)],
                             env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(run.stdout, f"{EXAMPLE}: OK (1 tenant)\n")

    def test_only_real_hosts_as_values(self):
        for host in sorted(set(HOST.findall(self.text))):
            self.assertRegex(host, KNOWN_HOSTS)

    def test_links_to_files_exist(self):
        for path in re.findall(r"`((?:deploy|config|adapters|tests)/[^`]+)`",
                               self.text):
            self.assertTrue((ROOT / path).exists(), path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
