"""A real Titan cluster for the SDK's tests: master and workers are `titan` processes on loopback.

Like test/harness.ts: everything lives in a temp dir, the master listens on port 0 and its port is
read from its `listening on 127.0.0.1:<port>` line; stop() kills every process it started (by
PID), then any job process group a worker left behind (from its pids.json), and removes the dir.
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SDK_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(SDK_DIR)
if SDK_DIR not in sys.path:
    sys.path.insert(0, SDK_DIR)

from titan_sdk import TitanClient  # noqa: E402

MAIN = os.path.join(REPO, "dist", "src", "cli", "main.js")
#: The sample pipelines the repo keeps (test/fixtures/pipelines), as the TS tests use them.
ACCEPTANCE = os.path.join(REPO, "test", "fixtures", "pipelines")
TOKEN = "test-token-python-sdk-0123"
NODE = os.environ.get("TITAN_TEST_NODE") or shutil.which("node") or "node"
START_TIMEOUT = 20.0
#: Variables a job sets; tests run inside a job must not aim their cluster at the outer master.
OUTER_ENV = ("TITAN_HOST", "TITAN_PORT", "TITAN_TOKEN", "TITAN_MASTER", "TITAN_DAG_ID", "TITAN_JOB_ID", "TITAN_HOME")


_LIVE = []  # clusters and temp dirs to clean up if the run is stopped (SIGTERM, SIGINT) or exits early


def _clean_up_all():
    while _LIVE:
        thing = _LIVE.pop()
        if isinstance(thing, Cluster):
            thing.stop()
        else:
            shutil.rmtree(thing, ignore_errors=True)


def _on_signal(signum, _frame):
    _clean_up_all()
    os._exit(128 + signum)


atexit.register(_clean_up_all)
for _sig in (signal.SIGTERM, signal.SIGINT):
    if signal.getsignal(_sig) in (signal.SIG_DFL, signal.default_int_handler):
        signal.signal(_sig, _on_signal)


def temp_dir(prefix):
    """A temp dir removed at the end of the run even if it is interrupted."""
    path = tempfile.mkdtemp(prefix=prefix)
    # A root worker runs jobs as titan-job: they may write here too.
    os.chmod(path, 0o1777)
    _LIVE.append(path)
    return path


def until(what, probe, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as err:  # the probe may fail until the thing is up
            last = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last!r})" if last else ""))


class Cluster:
    def __init__(self):
        if not os.path.isfile(MAIN):
            raise RuntimeError(f"{MAIN} is missing: build the master first (cd {REPO} && npx tsc -p tsconfig.json)")
        self.dir = tempfile.mkdtemp(prefix="titan-py-sdk-")
        # A root worker's jobs (titan-job) pass through to their workspaces under it.
        os.chmod(self.dir, 0o711)
        self.port = None
        self.master = None
        self.workers = {}
        self.clients = []
        self.logs = []
        _LIVE.append(self)

    def start(self, workers=1, slots=4):
        try:
            self.start_master()
            for i in range(workers):
                self.start_worker(f"w{i + 1}", slots=slots)
        except BaseException:
            self.stop()
            raise
        return self

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in OUTER_ENV}
        env.update(TITAN_HOME=self.dir, TITAN_LOG_LEVEL="warn")
        return env

    def spawn(self, args, name):
        path = os.path.join(self.dir, f"{name}.log")
        self.logs.append(path)
        with open(path, "wb") as log:
            return subprocess.Popen([NODE, MAIN, *args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env(), cwd=self.dir)

    def log_of(self, name):
        try:
            with open(os.path.join(self.dir, f"{name}.log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start_master(self, extra_args=()):
        self.master = self.spawn(["master", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "master"),
                                  "--token", TOKEN, "--heartbeat-interval", "200", "--heartbeat-timeout", "30000",
                                  "--no-http", *extra_args], "master")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log_of("master"))
            if match:
                self.port = int(match.group(1))
                return
            if self.master.poll() is not None:
                raise RuntimeError(f"master exited ({self.master.returncode}) before listening:\n{self.log_of('master')}")
            time.sleep(0.05)
        raise RuntimeError(f"master printed no 'listening on' line within {START_TIMEOUT} s:\n{self.log_of('master')}")

    def start_worker(self, worker_id, slots=4, tags=None, masters=None):
        """masters: what the worker's --master says instead of this master's address (a list, say)."""
        work_dir = os.path.join(self.dir, "workers", worker_id)
        args = ["worker", "--master", masters or f"127.0.0.1:{self.port}", "--token", TOKEN, "--id", worker_id,
                "--work-dir", work_dir, "--slots", str(slots), "--drain-grace", "1000"]
        if tags:
            args += ["--tags", tags]
        proc = self.spawn(args, f"worker-{worker_id}")
        self.workers[worker_id] = (proc, work_dir)
        probe = self.client()

        def registered():
            if proc.poll() is not None:
                raise AssertionError(f"worker {worker_id} exited:\n{self.log_of('worker-' + worker_id)}")
            return any(w["id"] == worker_id and w["health"] == "healthy" for w in probe.stats()["workers"])

        until(f"worker {worker_id} to register", registered, timeout=START_TIMEOUT)
        return work_dir

    def make_certs(self):
        """A CA and master/client certificates (`titan certs init`) in <dir>/certs; returns that folder."""
        certs = os.path.join(self.dir, "certs")
        made = subprocess.run([NODE, MAIN, "certs", "init", "--dir", certs], env=self.env(), capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise RuntimeError(f"titan certs init failed ({made.returncode}): {made.stderr}")
        return certs

    def client(self, **options):
        client = TitanClient("127.0.0.1", self.port, options.pop("token", TOKEN), **options)
        self.clients.append(client)
        return client

    def stop(self):
        if self in _LIVE:
            _LIVE.remove(self)
        for client in self.clients:
            try:
                client.close()
            except Exception:
                pass
        for proc, _ in self.workers.values():
            _terminate(proc, signal.SIGTERM, 8.0)
        if self.master is not None:
            _terminate(self.master, signal.SIGTERM, 5.0)
        for _, work_dir in self.workers.values():
            _kill_orphans(os.path.join(work_dir, "pids.json"))
        shutil.rmtree(self.dir, ignore_errors=True)


def _terminate(proc, sig, grace):
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    except OSError:
        pass


def _start_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _kill_orphans(pid_file):
    """Kills the job process groups a worker recorded and did not reap (only if still the same process)."""
    try:
        with open(pid_file, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError):
        return
    for entry in entries if isinstance(entries, list) else []:
        pid, pgid = entry.get("pid"), entry.get("pgid")
        if not isinstance(pid, int) or not isinstance(pgid, int) or pgid <= 1:
            continue
        ticks = _start_ticks(pid)
        if ticks is None or ("startTicks" in entry and entry["startTicks"] != ticks):
            continue
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
