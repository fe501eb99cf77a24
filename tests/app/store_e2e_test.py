#!/usr/bin/env python3
"""`presync run` and its state store, end to end on 127.0.0.1 (issue #6).

Starts kinesalite and both emulators, then `presync run` several times on
the same store file: the Kinesis checkpoint is stored and the consumer
resumes after it (events made while presync was down are read from the
stream, not skipped from LATEST); a corrupt store stops the start with a
message naming the file until --reset-state is given; a deleted store is a
fresh start that says so.

Usage: store_e2e_test.py BIN_DIR KINESALITE_JS
Waits poll for a condition with a deadline; nothing sleeps to synchronise.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time  # noqa: F401 (the shared helpers use it)
import urllib.error  # noqa: F401
import urllib.request  # noqa: F401
import socket  # noqa: F401

BIN, KINESALITE = sys.argv[1], sys.argv[2]
GRAPH_SECRET = "graph-secret-5a2c1e"
AWS_SECRET = "aws-secret-1d9e4f"
CLIENT_ID = "00000000-0000-0000-0000-0000000000b1"
FAILURES, PASSED, CHILDREN = [], [], []

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "run_e2e_test.py")) as f:
    source = f.read()
# Take the helper functions only (check .. wait_until), not main().
helpers = source[source.index("def check("):source.index("def main(")]
exec(helpers, globals())


def checkpoints(db):
    if not os.path.exists(db):
        return {}
    with sqlite3.connect(db) as c:
        return {shard: int(seq) for shard, seq in c.execute(
            "SELECT shard, sequence_number FROM checkpoints"
            " WHERE tenant='store-e2e'")}


def main():
    work = tempfile.mkdtemp(prefix="presync-store-e2e-")
    db = os.path.join(work, "state.db")
    kport = start(["node", KINESALITE, "0"])
    cport = start([f"{BIN}/presync-connect-emulator", "--listen",
                   "127.0.0.1:0", "--agents", "2", "--no-heartbeats",
                   "--secret-access-key", AWS_SECRET, "--kinesis-endpoint",
                   f"http://127.0.0.1:{kport}"])
    gport = start([f"{BIN}/presync-graph-emulator", "--listen", "127.0.0.1:0",
                   "--users", "0", "--client-secret", GRAPH_SECRET])
    agents = {a["username"]: a for a in
              control(cport, "GET", "agents")["agents"]}
    upn = "agent0001@example.com"
    gid = control(gport, "POST", "users", {"displayName": "Agent 1",
                                           "mail": upn,
                                           "userPrincipalName": upn})["id"]
    aid = agents[upn]["id"]

    api_port, metrics_port = free_port(), free_port()
    config = os.path.join(work, "presync.yaml")
    with open(config, "w") as f:
        f.write(f"""
server: {{listen: 127.0.0.1:{api_port}, shutdown_grace: 5s}}
metrics: {{listen: 127.0.0.1:{metrics_port}}}
store: {{path: {db}}}
tenants:
  - id: store-e2e
    graph:
      tenant_id: 00000000-0000-0000-0000-0000000000a1
      client_id: {CLIENT_ID}
      client_secret_env: PRESYNC_GRAPH_SECRET
      login_endpoint: http://127.0.0.1:{gport}
      graph_endpoint: http://127.0.0.1:{gport}
    connect:
      instance_id: 00000000-0000-0000-0000-0000000000aa
      region: us-east-1
      endpoint: http://127.0.0.1:{cport}
      kinesis_endpoint: http://127.0.0.1:{kport}
      stream_name: connect-agent-events
      agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]
    identity: {{match_order: [upn, username]}}
    sync:
      min_hold: 1s
      teams_poll_interval: 1s
""")
    env = dict(os.environ, PRESYNC_GRAPH_SECRET=GRAPH_SECRET,
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY=AWS_SECRET,
               PRESYNC_API_TOKENS="t")
    for k in ("AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
              "AWS_CONTAINER_CREDENTIALS_FULL_URI",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "HTTPS_PROXY",
              "HTTP_PROXY", "https_proxy", "http_proxy"):
        env.pop(k, None)
    runs = [0]

    def run(*extra):
        runs[0] += 1
        log_path = os.path.join(work, f"presync-{runs[0]}.log")
        p = subprocess.Popen([f"{BIN}/presync", "run", "--config", config,
                              *extra], env=env,
                             stdout=open(log_path, "w"),
                             stderr=subprocess.STDOUT)
        CHILDREN.append(p)
        return p, log_path

    def ready():
        try:
            return call(api_port, "GET", "/readyz")[0] == 200
        except OSError:
            return False

    def events(log_path):
        out = []
        for line in open(log_path).read().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def session():
        p = control(gport, "GET", f"users/{gid}/presence")
        for s in p["sessions"]:
            if s["sessionId"] == CLIENT_ID:
                return f"{s['availability']}/{s['activity']}"
        return "clear"

    def stop(p, sig=signal.SIGTERM):
        p.send_signal(sig)
        return p.wait(timeout=30)

    # First start: no file yet, so a new store; a login is checkpointed.
    p, log1 = run()
    wait_until("the first start gets ready", ready, 60)
    check(any(e["event"] == "store_opened" and e.get("outcome") == "created"
              for e in events(log1)), "the first start creates the store")
    control(cport, "POST", f"agents/{aid}/login")
    wait_until("login shows Available in Teams",
               lambda: session() == "Available/Available")
    wait_until("a checkpoint is stored", lambda: len(checkpoints(db)) > 0)
    check(stop(p) == 0, "SIGTERM exits 0")
    before = checkpoints(db)

    # While presync is down the agent goes to lunch; the restart reads that
    # event from the stream after the checkpoint.
    control(gport, "POST", "writes/reset")
    control(cport, "POST", f"agents/{aid}/status", {"status": "Lunch"})
    p, log2 = run()
    wait_until("the restart gets ready", ready, 60)
    check(any(e["event"] == "store_opened" and e.get("outcome") == "opened"
              for e in events(log2)), "the restart opens the stored state")
    wait_until("the checkpoint moves past the event made while down",
               lambda: any(checkpoints(db).get(s, 0) > v
                           for s, v in before.items()))
    check(any(e["event"] == "state_resumed" and e.get("resumed") == 2
              for e in events(log2)), "both persons resume from their records")
    wait_until("the Lunch made while down shows as Away in Teams",
               lambda: session() == "Away/Away")
    writes = [f"{w['availability']}/{w['activity']}" for w in
              control(gport, "GET", "writes")["writes"]]
    check(writes == ["Away/Away"],
          f"the restart re-posts nothing already right (writes: {writes})")

    # SIGKILL, then a damaged file: the start stops and names the file.
    p.kill()
    p.wait()
    # The whole file overwritten and its WAL gone (a WAL that still holds
    # page 1 would mask a damaged header, and rightly so).
    size = os.path.getsize(db)
    with open(db, "r+b") as f:
        f.write(b"\xa5" * max(size, 4096))
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    p, log3 = run()
    rc = p.wait(timeout=30)
    text = open(log3).read()
    check(rc == 1, "a corrupt store stops the start (exit 1)")
    check(db in text and "--reset-state" in text,
          "the message names the file and --reset-state")
    check(not ready(), "nothing answers after the refused start")

    p, log4 = run("--reset-state")
    wait_until("--reset-state starts fresh", ready, 60)
    check(any(e["event"] == "store_reset" for e in events(log4)),
          "the log says the store was reset")
    check(stop(p) == 0, "SIGTERM exits 0 after the reset")

    # A deleted file is a fresh start, and the log says so.
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    p, log5 = run()
    wait_until("a start without the file gets ready", ready, 60)
    check(any(e["event"] == "store_opened" and e.get("outcome") == "created"
              for e in events(log5)), "a deleted store is created again")
    check(stop(p) == 0, "SIGTERM exits 0 at the end")


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
print(f"store_e2e: {len(PASSED)} passed, {len(FAILURES)} failed")
sys.exit(1 if FAILURES else 0)
