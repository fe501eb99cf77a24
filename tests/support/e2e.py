"""Shared pieces of the end-to-end tests: kinesalite, both emulators and
`presync run` on 127.0.0.1, their control APIs, the metrics page, the JSON
log and the process's memory.

Everything here talks to loopback only and waits by polling a condition
with a deadline (`wait_for`); nothing sleeps to synchronise.
"""
import json
import os
import re
import socket
import subprocess
import tempfile
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


def call(port, method, path, body=None, headers=None, timeout=10):
    """One HTTP exchange with 127.0.0.1:`port`; returns (status, text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


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


def metric_sum(metrics, name, **labels):
    """Adds up every series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in metrics.items()
               if n == name and want <= set(ls))


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
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()


class ControlError(RuntimeError):
    pass


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
        w = self.work
        sync = "\n".join("      " + l for l in self.sync.strip().splitlines())
        return f"""
server: {{listen: 127.0.0.1:{self.api_port}, shutdown_grace: 10s}}
metrics: {{listen: 127.0.0.1:{self.metrics_port}}}
log: {{level: info}}
store: {{path: {w}/presync.db}}
tenants:
  - id: e2e
    graph:
      tenant_id: {GRAPH_TENANT}
      client_id: {CLIENT_ID}
      client_secret_env: PRESYNC_GRAPH_SECRET
      login_endpoint: http://127.0.0.1:{self.graph_emu.port}
      graph_endpoint: http://127.0.0.1:{self.graph_emu.port}
    connect:
      instance_id: {INSTANCE_ID}
      region: us-east-1
      endpoint: http://127.0.0.1:{self.connect_emu.port}
      kinesis_endpoint: http://127.0.0.1:{self.kinesis.port}
      stream_name: {STREAM}
      outbound_contact_flow_id: 00000000-0000-0000-0000-0000000000d1
      outbound_queue_id: 33333333-3333-4333-8333-333333333334
      agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]
    identity: {{match_order: [upn, username]}}
    sync:
{sync}
"""

    def start_presync(self, ready_within=90):
        self.api_port, self.metrics_port = free_port(), free_port()
        self.config_path = os.path.join(self.work, "presync.yaml")
        with open(self.config_path, "w") as f:
            f.write(self.config_text())
        env = dict(os.environ, PRESYNC_GRAPH_SECRET=self.graph_secret,
                   AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY=self.aws_secret,
                   PRESYNC_API_TOKENS=self.api_token)
        for k in _FOREIGN_ENV:
            env.pop(k, None)
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

    def _control(self, port, method, path, body=None):
        status, text = call(port, method, "/_control/" + path, body)
        if status >= 300:
            raise ControlError(f"control {method} {path}: {status} {text}")
        return json.loads(text) if text else None

    def graph(self, method, path, body=None):
        return self._control(self.graph_emu.port, method, path, body)

    def connect(self, method, path, body=None):
        return self._control(self.connect_emu.port, method, path, body)

    def kinesis_control(self, method, path, body=None):
        return self._control(self.kinesis.port, method, path, body)

    def api(self, path, token=True):
        headers = {"Authorization": f"Bearer {self.api_token}"} if token else {}
        try:
            return call(self.api_port, "GET", path, headers=headers)
        except (ConnectionError, urllib.error.URLError, socket.timeout):
            return 0, ""

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
