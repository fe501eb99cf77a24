#!/usr/bin/env python3
"""The short demo of `make test`: runs `presync demo` on the emulators and
checks the JSON report it writes.

usage: demo_short.py PRESYNC_BINARY REPORT_FILE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

AGENTS = 50
OFFICE_USERS = 150

# Every key the issue and README promise, with its JSON type(s).
REQUIRED = {
    "persons": int,
    "consistent": bool,
    "inconsistent": list,
    "redundant_writes": int,
    "short_changes_suppressed": int,
    "short_changes_propagated": int,
    "writes_per_change": (int, float),
    "requests_per_change": (int, float),
    "max_delay_ms": (int, float),
    "poll_requests_per_cycle": (int, float),
    "passed": bool,
    "failures": list,
}


def main():
    presync, report = sys.argv[1], sys.argv[2]
    if os.path.exists(report):
        os.remove(report)
    work = tempfile.mkdtemp(prefix="presync-demo-short-")
    command = [presync, "demo", "--agents", str(AGENTS), "--office-users",
               str(OFFICE_USERS), "--duration", "60s", "--seed", "3",
               "--report", report, "--work-dir", work]
    print("running:", " ".join(command), flush=True)
    status = subprocess.call(command)
    print("presync demo exited with", status, flush=True)

    problems = []
    if not os.path.exists(report):
        print("FAIL: no report was written")
        return 1
    with open(report, encoding="utf-8") as f:
        data = json.load(f)
    for key, kind in REQUIRED.items():
        if key not in data:
            problems.append(f"missing key {key}")
        elif isinstance(data[key], bool) and kind is not bool:
            problems.append(f"{key} is a boolean, not {kind}")
        elif not isinstance(data[key], kind):
            problems.append(f"{key} is {type(data[key]).__name__}")
    if data.get("persons") != AGENTS + OFFICE_USERS:
        problems.append(f"persons is {data.get('persons')}, "
                        f"not {AGENTS + OFFICE_USERS}")
    if data.get("consistent") is not True:
        problems.append("not consistent: " +
                        json.dumps(data.get("inconsistent", [])[:10]))
    if data.get("redundant_writes") != 0:
        problems.append(f"redundant_writes is {data.get('redundant_writes')}")
    if data.get("short_changes_propagated") != 0:
        problems.append("short_changes_propagated is "
                        f"{data.get('short_changes_propagated')}")
    if status != 0:
        problems.append(f"presync demo exited with {status}")

    # Nothing presync logged, and nothing in the report, holds a secret
    # the demo gave it: the Graph client secret and the API token.
    secrets = ["emulator-secret"]
    token_file = os.path.join(work, "api-token")
    if os.path.exists(token_file):
        secrets.append(open(token_file).read().strip())
    else:
        problems.append("the demo wrote no api-token file")
    log_file = os.path.join(work, "presync.log")
    logged = open(log_file).read() if os.path.exists(log_file) else ""
    if not logged:
        problems.append("presync logged nothing")
    reported = open(report).read()
    for secret in secrets:
        if secret and (secret in logged or secret in reported):
            problems.append("a secret appears in presync.log or the report")

    for p in problems:
        print("FAIL:", p)
    if not problems:
        print("PASS: demo.short", json.dumps(
            {k: data[k] for k in ("persons", "consistent", "redundant_writes",
                                  "short_changes_suppressed",
                                  "writes_per_change", "requests_per_change",
                                  "max_delay_ms")}))
    if not problems:
        shutil.rmtree(work, ignore_errors=True)  # kept when it failed
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
