#!/usr/bin/env python3
"""Signs ~200 random requests with botocore's SigV4Auth and with presync's
signer (sigv4_sign_tool, JSON lines on stdin/stdout) and fails on the first
difference. Fixed seed, fixed credentials and dates; nothing touches the
network: botocore only computes signatures here.

Usage: botocore_crosscheck.py PATH/TO/sigv4_sign_tool [count] [seed]
"""

import base64
import datetime
import json
import random
import subprocess
import sys
import types
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

# Characters a path segment or query item may hold before wire encoding:
# unreserved, sub-delimiters, space, '%', and some UTF-8.
SEGMENT_CHARS = (
    "abcXYZ019-._~!$&'()*+,;=:@ %" + "\u00e9\u4e2d\U0001f600"
)
QUERY_CHARS = SEGMENT_CHARS + "/?=&"
# Header names presync and botocore both sign (no hop-by-hop names).
HEADER_NAMES = [
    "My-Header", "my-header", "X-Amz-Target", "Content-Type", "X-Custom_1",
    "x-amz-meta-Thing", "Accept", "Zeta", "a", "X-Amz-Date",
]
HEADER_VALUE_CHARS = "abcXYZ 019\t\"',;:=/+-_.~()[]{}<>?!@#$%^&*|"


def random_text(rng, alphabet, low, high):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def random_path(rng):
    segments = []
    for _ in range(rng.randint(0, 5)):
        kind = rng.random()
        if kind < 0.1:
            segments.append(".")
        elif kind < 0.2:
            segments.append("..")
        elif kind < 0.3:
            segments.append("")
        else:
            # The wire form is the segment encoded once, with a random set
            # of characters left raw (never '%', '?', '#' or '/').
            safe = rng.choice(["", "-_.~", "!$'()*+,;=:@", "-_.~!$'()*+,;=:@"])
            segments.append(
                quote(random_text(rng, SEGMENT_CHARS, 1, 8), safe=safe))
    path = "/" + "/".join(segments)
    if rng.random() < 0.3:
        path += "/"
    return path


def random_query(rng):
    pairs = []
    wire = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        key = random_text(rng, QUERY_CHARS, 0 if rng.random() < 0.1 else 1, 6)
        value = random_text(rng, QUERY_CHARS, 0, 8)
        if rng.random() < 0.2 and pairs:
            key = pairs[0][0]  # repeated key, sorted by value
        pairs.append((key, value))
        safe_key = rng.choice(["", "-_.~", "-_.~!$'()*,;:@/?"])
        safe_value = rng.choice(["", "-_.~", "-_.~!$'()*,;:@/?="])
        # An empty item ("a&&b") is no parameter on the wire, so an empty
        # key always carries its '='.
        if value == "" and key != "" and rng.random() < 0.5:
            wire.append(quote(key, safe=safe_key))
        else:
            wire.append(quote(key, safe=safe_key) + "=" +
                        quote(value, safe=safe_value))
    return pairs, "&".join(wire)


def random_headers(rng, host):
    headers = [(rng.choice(["Host", "host", "HOST"]), host)]
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(HEADER_NAMES)
        value = random_text(rng, HEADER_VALUE_CHARS, 0, 12)
        if rng.random() < 0.3:
            value = "  " + value + " \t "
        headers.append((name, value))
    return headers


def random_body(rng):
    kind = rng.random()
    if kind < 0.3:
        return b""
    if kind < 0.6:
        return json.dumps({"AgentStatusId": random_text(rng, "abc019-", 1, 36),
                           "Limit": rng.randint(1, 10000)},
                          separators=(",", ":")).encode()
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))


def make_case(rng, index):
    host = rng.choice(["connect.us-east-1.amazonaws.com",
                       "kinesis.eu-west-2.amazonaws.com",
                       "example.amazonaws.com", "127.0.0.1:4567"])
    pairs, wire_query = random_query(rng)
    start = datetime.datetime(2025, 3, 4, 15, 0, 0)
    when = start + datetime.timedelta(seconds=rng.randint(0, 400 * 86400))
    return {
        "id": str(index),
        "method": rng.choice(["GET", "PUT", "POST", "DELETE", "PATCH"]),
        "path": random_path(rng),
        "query": wire_query,
        "pairs": pairs,
        "headers": random_headers(rng, host),
        "body": random_body(rng),
        "session_token": rng.choice(["", "", "FwoGZXIvYXdzEXAMPLE+/=token"]),
        "region": rng.choice(["us-east-1", "eu-west-2", "ap-southeast-2"]),
        "service": rng.choice(["connect", "kinesis", "service"]),
        "time": when,
    }


def botocore_sign(case):
    """Returns canonical request, string to sign and Authorization."""
    creds = Credentials(ACCESS_KEY, SECRET_KEY, case["session_token"] or None)
    auth = botocore.auth.SigV4Auth(creds, case["service"], case["region"])
    host = [v for n, v in case["headers"] if n.lower() == "host"][0]
    request = AWSRequest(method=case["method"],
                         url="https://" + host + case["path"],
                         data=case["body"], params=list(case["pairs"]))
    for name, value in case["headers"]:
        request.headers[name] = value  # appends, so repeats stay repeated

    captured = {}
    real_cr = auth.canonical_request
    real_sts = auth.string_to_sign

    def canonical_request(req):
        captured["canonical_request"] = real_cr(req)
        return captured["canonical_request"]

    def string_to_sign(req, cr):
        captured["string_to_sign"] = real_sts(req, cr)
        return captured["string_to_sign"]

    auth.canonical_request = canonical_request
    auth.string_to_sign = string_to_sign

    fixed = case["time"]

    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

    fake_module = types.SimpleNamespace(datetime=FixedDatetime)
    with mock.patch.object(botocore.auth, "datetime", fake_module):
        auth.add_auth(request)
    captured["authorization"] = request.headers["Authorization"]
    return captured


def tool_input(case):
    return json.dumps({
        "id": case["id"],
        "method": case["method"],
        "path": case["path"],
        "query": case["query"],
        "headers": [[n, v] for n, v in case["headers"]],
        "body_b64": base64.b64encode(case["body"]).decode(),
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY,
        "session_token": case["session_token"],
        "region": case["region"],
        "service": case["service"],
        "time": case["time"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    })


def main():
    tool = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20250304
    rng = random.Random(seed)
    cases = [make_case(rng, i) for i in range(count)]

    stdin = "\n".join(tool_input(c) for c in cases) + "\n"
    run = subprocess.run([tool], input=stdin.encode(), capture_output=True,
                         timeout=60, check=False)
    if run.returncode != 0:
        print(f"sigv4_sign_tool exited with {run.returncode}: "
              f"{run.stderr.decode(errors='replace')}")
        return 1
    ours = [json.loads(line) for line in run.stdout.decode().splitlines()]
    if len(ours) != len(cases):
        print(f"expected {len(cases)} answers, got {len(ours)}")
        return 1

    for case, mine in zip(cases, ours):
        theirs = botocore_sign(case)
        if "error" in mine:
            print(f"case {case['id']}: presync failed: {mine['error']}")
            return 1
        for key in ("canonical_request", "string_to_sign", "authorization"):
            if mine[key] != theirs[key]:
                print(f"case {case['id']} differs in {key}")
                print(f"  method={case['method']!r} path={case['path']!r} "
                      f"query={case['query']!r}")
                print(f"  headers={case['headers']!r}")
                print(f"  botocore:\n{theirs[key]}")
                print(f"  presync:\n{mine[key]}")
                return 1
    print(f"{len(cases)} requests signed identically by presync and "
          f"botocore {botocore.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
