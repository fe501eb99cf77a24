"""Shared pieces of the end-to-end tests: kinesalite, both emulators and
`presync run` on 127.0.0.1, their control APIs, the metrics page, the JSON
log and the process's memory.

The plain functions serve the scripts that start their own processes
(tests/app/*_e2e_test.py, tests/ops/live_metrics_test.py,
bench/restart_bench.py); `Stack` serves the storms. A script counts its
checks here (`check`, `wait_until`, `summary`) and registers what it
starts, so that `run_script` stops every child however the script ends.

Everything here talks to loopback only and waits by polling a condition
with a deadline (`wait_for`); nothing sleeps to synchronise.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request

GRAPH_TENANT = "00000000-0000-0000-0000-0000000000a1"
CLIENT_ID = "00000000-0000-0000-0000-0000000000b1"
INSTANCE_ID = "00000000-0000-0000-0000-0000000000aa"
STREAM = "connect-agent-events"

# Environment variables that would send presync's calls elsewhere.
_FOREIGN_ENV = ("AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_PROFILE",
                "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")


def free_port():
    """Returns a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, seconds, step=0.1):
    """Polls `pred` until it returns a true value or `seconds` pass;
    returns that value, or None after the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def exchange(port, method, path, body=None, headers=None, timeout=10,
             raw=None):
    """One HTTP exchange with 127.0.0.1:`port`; sends `raw` bytes as they
    are, else `body` as JSON; returns (status, text, response headers)."""
    data = raw if raw is not None else (
        None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def call(port, method, path, body=None, headers=None, timeout=10):
    """One HTTP exchange with 127.0.0.1:`port`; returns (status, text)."""
    status, text, _ = exchange(port, method, path, body, headers, timeout)
    return status, text


def call_if_up(port, method, path, body=None, headers=None):
    """Like `call`, but (0, "") when nothing answers on `port`: for polls
    that run while a server starts or stops."""
    try:
        return call(port, method, path, body, headers)
    except (ConnectionError, urllib.error.URLError, socket.timeout):
        return 0, ""


def ready(api_port):
    """Tells whether presync's /readyz on `api_port` answers 200."""
    try:
        return call(api_port, "GET", "/readyz")[0] == 200
    except OSError:
        return False


class ControlError(RuntimeError):
    pass


def control(port, method, path, body=None, timeout=10):
    """Calls an emulator's (or kinesalite's) /_control API; returns the
    parsed answer and raises ControlError on a status of 300 or more."""
    status, text = call(port, method, "/_control/" + path, body,
                        timeout=timeout)
    if status >= 300:
        raise ControlError(f"control {method} {path}: {status} {text}")
    return json.loads(text) if text else None


def teams_session(graph_port, user_id):
    """Returns presync's presence session on a Teams user of the Graph
    emulator as "Availability/Activity", or "clear" when it has none."""
    p = control(graph_port, "GET", f"users/{user_id}/presence")
    for s in p["sessions"]:
        if s["sessionId"] == CLIENT_ID:
            return f"{s['availability']}/{s['activity']}"
    return "clear"


def presync_env(graph_secret, aws_secret, api_tokens, **extra):
    """The environment of `presync run`: its secrets (plus `extra`), and
    none of the variables that would send its calls elsewhere."""
    env = dict(os.environ, PRESYNC_GRAPH_SECRET=graph_secret,
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY=aws_secret,
               PRESYNC_API_TOKENS=api_tokens, **extra)
    for k in _FOREIGN_ENV:
        env.pop(k, None)
    return env


def log_events(log_path, event=None):
    """Returns the JSON lines of a presync log (all, or those of `event`),
    passing over any line that is not JSON."""
    out = []
    with open(log_path) as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if event is None or e.get("event") == event:
                out.append(e)
    return out


def parse_metrics(text):
    """Parses a Prometheus text page into {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"',
                                      m.group(3) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(4))
        except ValueError:
            pass
    return out


def metric_values(metrics, name, **labels):
    """Returns the values of every series of `name` whose labels include
    `labels`, in the order of the page."""
    want = set(labels.items())
    return [v for (n, ls), v in metrics.items()
            if n == name and want <= set(ls)]


def metric_sum(metrics, name, **labels):
    """Adds up every series of `name` whose labels include `labels`."""
    return sum(metric_values(metrics, name, **labels))


class Child:
    """A started process whose first stdout line is `listening HOST:PORT`."""

    def __init__(self, argv, env=None, log_path=None):
        self.argv = argv
        self.log = open(log_path, "w") if log_path else None
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, text=True, env=env,
            stderr=self.log if self.log else None)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self):
        end_process(self.proc)
        if self.log:
            self.log.close()


def end_process(proc, timeout=10):
    """Stops `proc` with SIGTERM, or SIGKILL after `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- what a script checks and starts ------------------------------------------

PASSED = []
FAILURES = []
_CHILDREN = []  # every process a script started, stopped by run_script


def check(cond, what):
    """Prints `what` as ok or FAIL and counts it."""
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    (PASSED if cond else FAILURES).append(what)


def wait_until(what, pred, seconds=30, step=0.1, tolerate=()):
    """Polls `pred` until it returns a true value or `seconds` pass, and
    counts the outcome as the check `what`. An exception of a type in
    `tolerate` counts as "not yet". Returns the value, or None."""
    def attempt():
        try:
            return pred()
        except tolerate:
            return None

    value = wait_for(attempt, seconds, step)
    if value:
        check(True, what)
    else:
        check(False, what + f" (not within {seconds} s)")
    return value


def summary(name):
    """Prints the count of checks under `name`; returns the exit status."""
    print(f"{name}: {len(PASSED)} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


def start(argv):
    """Starts a child that prints `listening HOST:PORT` (its stderr goes
    to ours); returns the port. Ends the script when it does not start."""
    try:
        child = Child(argv)
    except RuntimeError as e:
        raise SystemExit(str(e))
    _CHILDREN.append(child.proc)
    return child.port


def spawn(argv, env, log_path):
    """Starts `argv` with its stdout and stderr in `log_path`."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    _CHILDREN.append(proc)
    return proc


def start_emulators(bin_dir, kinesalite_js, agents, graph_secret,
                    aws_secret=None, graph_users=0, graph_args=()):
    """Starts kinesalite, the Connect emulator with `agents` agents and the
    Graph emulator with `graph_users` users; `aws_secret` None keeps the
    Connect emulator's default. Returns (kinesis, connect, graph) ports."""
    kport = start(["node", kinesalite_js, "0"])
    secret = [] if aws_secret is None else ["--secret-access-key", aws_secret]
    cport = start([f"{bin_dir}/presync-connect-emulator", "--listen",
                   "127.0.0.1:0", "--agents", str(agents), "--no-heartbeats",
                   *secret, "--kinesis-endpoint", f"http://127.0.0.1:{kport}"])
    gport = start([f"{bin_dir}/presync-graph-emulator", "--listen",
                   "127.0.0.1:0", "--users", str(graph_users),
                   "--client-secret", graph_secret, *graph_args])
    return kport, cport, gport


def _block(text, indent):
    """YAML lines of `text`, dedented, then indented by `indent` spaces."""
    lines = textwrap.dedent(text).strip("\n")
    return textwrap.indent(lines, " " * indent) + "\n" if lines else ""


def presync_config(api_port, metrics_port, store_path, emulators, tenant,
                   connect="", sync="", graph="", server="", sections="",
                   identity="{match_order: [upn, username]}",
                   shutdown_grace="5s"):
    """A one-tenant config of `presync run` against `emulators` (the ports
    start_emulators returns). `connect`, `sync`, `graph`, `server` are YAML
    keys added to those sections, `sections` whole top-level sections.
    The `sync` section comes last, so a caller may append keys to it."""
    kport, cport, gport = emulators
    return f"""
server:
  listen: 127.0.0.1:{api_port}
  shutdown_grace: {shutdown_grace}
{_block(server, 2)}metrics: {{listen: 127.0.0.1:{metrics_port}}}
store: {{path: {store_path}}}
{_block(sections, 0)}tenants:
  - id: {tenant}
    graph:
      tenant_id: {GRAPH_TENANT}
      client_id: {CLIENT_ID}
      client_secret_env: PRESYNC_GRAPH_SECRET
      login_endpoint: http://127.0.0.1:{gport}
      graph_endpoint: http://127.0.0.1:{gport}
{_block(graph, 6)}    connect:
      instance_id: {INSTANCE_ID}
      region: us-east-1
      endpoint: http://127.0.0.1:{cport}
      kinesis_endpoint: http://127.0.0.1:{kport}
      stream_name: {STREAM}
{_block(connect, 6)}    identity: {identity}
    sync:
{_block(sync, 6)}"""


def run_script(main, name=None):
    """Runs `main`, stops every child it started however it ends, then
    exits with the count of checks under `name` (none when None)."""
    try:
        main()
    finally:
        for proc in _CHILDREN:
            end_process(proc)
    if name is not None:
        sys.exit(summary(name))


class Stack:
    """kinesalite, the Connect and Graph emulators and `presync run`.

    `agents` Connect agents each with a Teams account of the same UPN,
    plus `office_users` Teams-only users. `sync` is YAML text added under
    the tenant's `sync:` section (indented by the caller's keys only).
    """

    def __init__(self, bin_dir, kinesalite_js, agents=10, office_users=0,
                 shards=1, sync="", graph_secret="graph-secret-e2e",
                 aws_secret="aws-secret-e2e", api_token="api-token-e2e",
                 work=None, graph_args=(), connect_args=()):
        self.bin = bin_dir
        self.kinesalite_js = kinesalite_js
        self.n_agents = agents
        self.n_office = office_users
        self.shards = shards
        self.sync = sync
        self.graph_secret = graph_secret
        self.aws_secret = aws_secret
        self.api_token = api_token
        self.graph_args = list(graph_args)
        self.connect_args = list(connect_args)
        self.work = work or tempfile.mkdtemp(prefix="presync-e2e-")
        self.children = []
        self.presync = None
        self.log_path = os.path.join(self.work, "presync.log")
        self._log_offset = 0
        self._log_lines = []

    # -- start and stop -----------------------------------------------------

    def start_emulators(self):
        w = self.work
        self.kinesis = Child(["node", self.kinesalite_js, "0"],
                             log_path=os.path.join(w, "kinesalite.err"))
        self.children.append(self.kinesis)
        self.connect_emu = Child(
            [f"{self.bin}/presync-connect-emulator", "--listen",
             "127.0.0.1:0", "--agents", str(self.n_agents), "--no-heartbeats",
             "--secret-access-key", self.aws_secret, "--shards",
             str(self.shards), "--kinesis-endpoint",
             f"http://127.0.0.1:{self.kinesis.port}"] + self.connect_args,
            log_path=os.path.join(w, "connect-emulator.err"))
        self.children.append(self.connect_emu)
        self.graph_emu = Child(
            [f"{self.bin}/presync-graph-emulator", "--listen", "127.0.0.1:0",
             "--users", "0", "--client-secret", self.graph_secret]
            + self.graph_args,
            log_path=os.path.join(w, "graph-emulator.err"))
        self.children.append(self.graph_emu)

        # Agents and their Teams accounts, then the office.
        self.agents = [a["id"] for a in self.connect("GET", "agents")["agents"]]
        self.usernames = {a["id"]: a["username"]
                          for a in self.connect("GET", "agents")["agents"]}
        self.teams_of = {}
        for agent in self.agents:
            upn = self.usernames[agent]
            self.teams_of[agent] = self.graph("POST", "users", {
                "displayName": upn.split("@")[0], "mail": upn,
                "userPrincipalName": upn})["id"]
        self.office = []
        for n in range(self.n_office):
            upn = f"office{n:04d}@example.com"
            self.office.append(self.graph("POST", "users", {
                "displayName": f"Office {n}", "mail": upn,
                "userPrincipalName": upn})["id"])

    def config_text(self):
        return presync_config(
            self.api_port, self.metrics_port, f"{self.work}/presync.db",
            (self.kinesis.port, self.connect_emu.port, self.graph_emu.port),
            "e2e", shutdown_grace="10s", sections="log: {level: info}",
            connect="""
                outbound_contact_flow_id: 00000000-0000-0000-0000-0000000000d1
                outbound_queue_id: 33333333-3333-4333-8333-333333333334
                agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]
            """, sync=self.sync)

    def start_presync(self, ready_within=90):
        self.api_port, self.metrics_port = free_port(), free_port()
        self.config_path = os.path.join(self.work, "presync.yaml")
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        env = presync_env(self.graph_secret, self.aws_secret, self.api_token)
        self._log = open(self.log_path, "w")
        self.presync = subprocess.Popen(
            [f"{self.bin}/presync", "run", "--config", self.config_path],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)
        if not wait_for(lambda: self.api("/readyz")[0] == 200, ready_within,
                        step=0.2):
            raise RuntimeError("presync was not ready within "
                               f"{ready_within} s; log in {self.log_path}")

    def stop(self):
        """Stops presync (SIGTERM) and the emulators; returns presync's
        exit status (None when it had to be killed)."""
        rc = None
        if self.presync and self.presync.poll() is None:
            self.presync.terminate()
            try:
                rc = self.presync.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.presync.kill()
                self.presync.wait()
        elif self.presync:
            rc = self.presync.returncode
        if self.presync:
            self._log.close()
        for c in reversed(self.children):
            c.stop()
        self.children = []
        return rc

    # -- control APIs -------------------------------------------------------

    def graph(self, method, path, body=None):
        return control(self.graph_emu.port, method, path, body)

    def connect(self, method, path, body=None):
        return control(self.connect_emu.port, method, path, body)

    def kinesis_control(self, method, path, body=None):
        return control(self.kinesis.port, method, path, body)

    def api(self, path, token=True):
        headers = {"Authorization": f"Bearer {self.api_token}"} if token else {}
        return call_if_up(self.api_port, "GET", path, headers=headers)

    def metrics(self):
        status, text = call(self.metrics_port, "GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return parse_metrics(text)

    # -- what presync did ---------------------------------------------------

    def log_lines(self):
        """Returns every JSON line presync logged so far (parsed)."""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self._log_offset += end
        for raw in chunk[:end].decode("utf-8", "replace").splitlines():
            raw = raw.strip()
            if raw:
                try:
                    self._log_lines.append(json.loads(raw))
                except ValueError:
                    self._log_lines.append({"event": "not_json", "raw": raw})
        return self._log_lines

    def rss_kib(self, field="VmRSS"):
        """Returns presync's resident set size in KiB; `field` RssAnon
        gives its anonymous part (heap and stacks, without the pages of
        the binary and libraries that grow as new code paths run)."""
        with open(f"/proc/{self.presync.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def anon_kib(self):
        """Returns presync's anonymous resident memory in KiB."""
        return self.rss_kib("RssAnon")

    def alive(self):
        return self.presync is not None and self.presync.poll() is None
