#!/usr/bin/env python3
"""Every command `presync help` lists answers `--help` with its usage.

usage: cli_help_test.py PRESYNC_BINARY
"""

import re
import subprocess
import sys
import unittest

PRESYNC = sys.argv.pop(1) if len(sys.argv) > 1 else "build/bin/presync"


def run(*args):
    return subprocess.run([PRESYNC, *args], capture_output=True, text=True,
                          timeout=60)


def listed_commands(usage):
    """Returns the first word of each line under `commands:`."""
    section = usage.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z-]*)\b", section,
                                            re.M)]


class CliHelp(unittest.TestCase):
    def test_help_lists_commands(self):
        r = run("help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("usage: presync COMMAND"))
        self.assertIn("check-config", listed_commands(r.stdout))
        self.assertIn("scenarios", listed_commands(r.stdout))

    def test_every_command_prints_its_usage(self):
        commands = [c for c in listed_commands(run("help").stdout)
                    if c != "help"]
        self.assertGreaterEqual(len(commands), 2)
        for command in commands:
            with self.subTest(command=command):
                r = run(command, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(
                    r.stdout.startswith("usage: presync " + command),
                    r.stdout[:200])
                self.assertEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
