#!/usr/bin/env python3
"""Restart of `presync run` at scale (issue #6, closing figures).

Starts kinesalite and both emulators with PERSONS agents and Teams users
(paired by an identity mapping file), logs every agent in, starts presync
fresh and waits until its projection is written, then kills it with
SIGKILL and starts it again on the same store. Prints:

- the store's sustained rate while the fresh start wrote every person
  (rows committed per second, from presync's store_stats lines);
- the time from the restart to consistent: the process started, every
  person resumed from the store, both sides read and reconciled, and the
  first full poll cycle done (/readyz answers 200);
- the writes the restart made (0 when nothing already right is written).

Usage: restart_bench.py BIN_DIR KINESALITE_JS [PERSONS]   (make bench-restart)
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN, KINESALITE = sys.argv[1], sys.argv[2]
PERSONS = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
CHILDREN = []


def start(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    CHILDREN.append(p)
    line = p.stdout.readline().strip()
    if not line.startswith("listening "):
        raise SystemExit(f"{argv[0]} did not start: {line!r}")
    return int(line.rsplit(":", 1)[1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def control(port, method, path, body=None):
    status, text = call(port, method, "/_control/" + path, body)
    if status >= 300:
        raise SystemExit(f"control {method} {path}: {status} {text}")
    return json.loads(text) if text else None


def wait(what, pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    raise SystemExit(f"{what}: not within {seconds} s")


def main():
    work = tempfile.mkdtemp(prefix="presync-restart-bench-")
    db = os.path.join(work, "state.db")
    kport = start(["node", KINESALITE, "0"])
    cport = start([f"{BIN}/presync-connect-emulator", "--listen",
                   "127.0.0.1:0", "--agents", str(PERSONS), "--no-heartbeats",
                   "--kinesis-endpoint", f"http://127.0.0.1:{kport}"])
    gport = start([f"{BIN}/presync-graph-emulator", "--listen", "127.0.0.1:0",
                   "--users", str(PERSONS), "--throttle-limit", "0",
                   "--client-secret", "bench-secret"])
    mapping = os.path.join(work, "people.csv")
    with open(mapping, "w") as f:
        for n in range(1, PERSONS + 1):
            f.write(f"user{n:04d}@contoso.example,agent{n:04d}@example.com\n")
    t = time.time()
    for a in control(cport, "GET", "agents")["agents"]:
        control(cport, "POST", f"agents/{a['id']}/login")
    print(f"{PERSONS} agents logged in ({time.time() - t:.1f} s)", flush=True)

    api_port, metrics_port = free_port(), free_port()
    config = os.path.join(work, "presync.yaml")
    with open(config, "w") as f:
        f.write(f"""
server: {{listen: 127.0.0.1:{api_port}, shutdown_grace: 5s}}
metrics: {{listen: 127.0.0.1:{metrics_port}}}
store: {{path: {db}}}
log: {{level: info}}
tenants:
  - id: bench
    graph:
      tenant_id: 00000000-0000-0000-0000-0000000000a1
      client_id: 00000000-0000-0000-0000-0000000000b1
      client_secret_env: PRESYNC_GRAPH_SECRET
      login_endpoint: http://127.0.0.1:{gport}
      graph_endpoint: http://127.0.0.1:{gport}
      presence_requests_per_window: 100000
    connect:
      instance_id: 00000000-0000-0000-0000-0000000000aa
      region: us-east-1
      endpoint: http://127.0.0.1:{cport}
      kinesis_endpoint: http://127.0.0.1:{kport}
      stream_name: connect-agent-events
      requests_per_second: 50
      burst: 50
    identity: {{match_order: [upn], mapping_file: {mapping}}}
    sync:
      min_hold: 1s
""")
    env = dict(os.environ, PRESYNC_GRAPH_SECRET="bench-secret",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               PRESYNC_API_TOKENS="t")
    for k in ("AWS_SESSION_TOKEN", "HTTPS_PROXY", "HTTP_PROXY",
              "https_proxy", "http_proxy"):
        env.pop(k, None)

    def run(name):
        log = os.path.join(work, name)
        p = subprocess.Popen([f"{BIN}/presync", "run", "--config", config],
                             env=env, stdout=open(log, "w"),
                             stderr=subprocess.STDOUT)
        CHILDREN.append(p)
        return p, log

    def ready():
        try:
            return call(api_port, "GET", "/readyz")[0] == 200
        except OSError:
            return False

    def writes():
        return len(control(gport, "GET", "writes")["writes"])

    def lines(log, event):
        out = []
        for line in open(log):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == event:
                out.append(e)
        return out

    # Fresh start: every person's projection is written once.
    t = time.monotonic()
    p, log1 = run("fresh.log")
    wait("the fresh start gets ready", ready, 600)
    fresh_ready = time.monotonic() - t
    wait("every person's session is written",
         lambda: writes() >= PERSONS, 900)
    fresh_done = time.monotonic() - t
    time.sleep(12)  # one more store_stats line
    stats = lines(log1, "store_stats")
    rates = []
    for a, b in zip(stats, stats[1:]):
        rates.append((b["committed"] - a["committed"]) / 10.0)
    print(f"fresh start: ready in {fresh_ready:.1f} s, {PERSONS} sessions "
          f"written in {fresh_done:.1f} s", flush=True)
    if rates:
        print(f"store under that load: {max(rates):.0f} rows/s at the "
              f"busiest 10 s, {stats[-1]['committed']} rows in "
              f"{stats[-1]['batches']} transactions", flush=True)

    # The restart.
    p.send_signal(signal.SIGKILL)
    p.wait()
    control(gport, "POST", "writes/reset")
    t = time.monotonic()
    p, log2 = run("restart.log")
    wait("the restart gets ready", ready, 600)
    restart_ready = time.monotonic() - t
    resumed = lines(log2, "state_resumed")
    reconciled = lines(log2, "reconciled")
    time.sleep(5)
    print(f"restart at {PERSONS} persons: consistent (resumed, reconciled, "
          f"first poll cycle done) in {restart_ready:.1f} s; "
          f"{resumed[0]['resumed'] if resumed else '?'} resumed, "
          f"{reconciled[0]['connect_differences'] if reconciled else '?'}"
          f"+{reconciled[0]['teams_differences'] if reconciled else '?'} "
          f"differences; {writes()} writes after the restart", flush=True)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)


try:
    main()
finally:
    for c in CHILDREN:
        if c.poll() is None:
            c.terminate()
            try:
                c.wait(timeout=10)
            except subprocess.TimeoutExpired:
                c.kill()
