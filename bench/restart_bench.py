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
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "support"))
from e2e import (control, free_port, log_events, presync_config,  # noqa: E402
                 presync_env, ready, run_script, spawn, start_emulators,
                 wait_for)

BIN, KINESALITE = sys.argv[1], sys.argv[2]
PERSONS = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
# Listing or logging in 10,000 agents takes the emulators a while.
CONTROL_TIMEOUT = 60


def wait(what, pred, seconds):
    """Waits for `pred`, or ends the bench: a figure taken without it
    would mean nothing."""
    if not wait_for(pred, seconds, step=0.2):
        raise SystemExit(f"{what}: not within {seconds} s")


def main():
    work = tempfile.mkdtemp(prefix="presync-restart-bench-")
    db = os.path.join(work, "state.db")
    emulators = start_emulators(BIN, KINESALITE, PERSONS, "bench-secret",
                                graph_users=PERSONS,
                                graph_args=["--throttle-limit", "0"])
    _, cport, gport = emulators
    mapping = os.path.join(work, "people.csv")
    with open(mapping, "w") as f:
        for n in range(1, PERSONS + 1):
            f.write(f"user{n:04d}@contoso.example,agent{n:04d}@example.com\n")
    t = time.time()
    for a in control(cport, "GET", "agents",
                     timeout=CONTROL_TIMEOUT)["agents"]:
        control(cport, "POST", f"agents/{a['id']}/login",
                timeout=CONTROL_TIMEOUT)
    print(f"{PERSONS} agents logged in ({time.time() - t:.1f} s)", flush=True)

    api_port, metrics_port = free_port(), free_port()
    config = os.path.join(work, "presync.yaml")
    with open(config, "w") as f:
        f.write(presync_config(
            api_port, metrics_port, db, emulators, "bench",
            sections="log: {level: info}",
            graph="presence_requests_per_window: 100000", connect="""
                requests_per_second: 50
                burst: 50
            """, sync="min_hold: 1s",
            identity=f"{{match_order: [upn], mapping_file: {mapping}}}"))
    env = presync_env("bench-secret", "testing", "t")

    def run(name):
        log = os.path.join(work, name)
        p = spawn([f"{BIN}/presync", "run", "--config", config], env, log)
        return p, log

    def is_ready():
        return ready(api_port)

    def writes():
        return len(control(gport, "GET", "writes",
                           timeout=CONTROL_TIMEOUT)["writes"])

    # Fresh start: every person's projection is written once.
    t = time.monotonic()
    p, log1 = run("fresh.log")
    wait("the fresh start gets ready", is_ready, 600)
    fresh_ready = time.monotonic() - t
    wait("every person's session is written",
         lambda: writes() >= PERSONS, 900)
    fresh_done = time.monotonic() - t
    time.sleep(12)  # one more store_stats line
    stats = log_events(log1, "store_stats")
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
    control(gport, "POST", "writes/reset", timeout=CONTROL_TIMEOUT)
    t = time.monotonic()
    p, log2 = run("restart.log")
    wait("the restart gets ready", is_ready, 600)
    restart_ready = time.monotonic() - t
    resumed = log_events(log2, "state_resumed")
    reconciled = log_events(log2, "reconciled")
    time.sleep(5)
    print(f"restart at {PERSONS} persons: consistent (resumed, reconciled, "
          f"first poll cycle done) in {restart_ready:.1f} s; "
          f"{resumed[0]['resumed'] if resumed else '?'} resumed, "
          f"{reconciled[0]['connect_differences'] if reconciled else '?'}"
          f"+{reconciled[0]['teams_differences'] if reconciled else '?'} "
          f"differences; {writes()} writes after the restart", flush=True)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)


run_script(main)
