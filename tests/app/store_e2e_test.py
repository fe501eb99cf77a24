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
import os
import signal
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
from e2e import (check, control, free_port, log_events,  # noqa: E402
                 presync_config, presync_env, ready, run_script, spawn,
                 start_emulators, teams_session, wait_until)

BIN, KINESALITE = sys.argv[1], sys.argv[2]
GRAPH_SECRET = "graph-secret-5a2c1e"
AWS_SECRET = "aws-secret-1d9e4f"


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
    emulators = start_emulators(BIN, KINESALITE, 2, GRAPH_SECRET, AWS_SECRET)
    _, cport, gport = emulators
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
        f.write(presync_config(api_port, metrics_port, db, emulators,
                               "store-e2e", connect="""
            agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]
        """, sync="""
            min_hold: 1s
            teams_poll_interval: 1s
        """))
    env = presync_env(GRAPH_SECRET, AWS_SECRET, "t")
    runs = [0]

    def run(*extra):
        runs[0] += 1
        log_path = os.path.join(work, f"presync-{runs[0]}.log")
        p = spawn([f"{BIN}/presync", "run", "--config", config, *extra], env,
                  log_path)
        return p, log_path

    def is_ready():
        return ready(api_port)

    def session():
        return teams_session(gport, gid)

    def stop(p, sig=signal.SIGTERM):
        p.send_signal(sig)
        return p.wait(timeout=30)

    # First start: no file yet, so a new store; a login is checkpointed.
    p, log1 = run()
    wait_until("the first start gets ready", is_ready, 60)
    check(any(e["event"] == "store_opened" and e.get("outcome") == "created"
              for e in log_events(log1)), "the first start creates the store")
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
    wait_until("the restart gets ready", is_ready, 60)
    check(any(e["event"] == "store_opened" and e.get("outcome") == "opened"
              for e in log_events(log2)), "the restart opens the stored state")
    wait_until("the checkpoint moves past the event made while down",
               lambda: any(checkpoints(db).get(s, 0) > v
                           for s, v in before.items()))
    check(any(e.get("resumed") == 2
              for e in log_events(log2, "state_resumed")),
          "both persons resume from their records")
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
    check(not is_ready(), "nothing answers after the refused start")

    p, log4 = run("--reset-state")
    wait_until("--reset-state starts fresh", is_ready, 60)
    check(any(e["event"] == "store_reset" for e in log_events(log4)),
          "the log says the store was reset")
    check(stop(p) == 0, "SIGTERM exits 0 after the reset")

    # A deleted file is a fresh start, and the log says so.
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    p, log5 = run()
    wait_until("a start without the file gets ready", is_ready, 60)
    check(any(e["event"] == "store_opened" and e.get("outcome") == "created"
              for e in log_events(log5)), "a deleted store is created again")
    check(stop(p) == 0, "SIGTERM exits 0 at the end")


run_script(main, "store_e2e")
