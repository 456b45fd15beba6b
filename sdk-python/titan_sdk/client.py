"""TitanClient: the original Titan SDK's calls, plus waits pushed by the master, log following and approvals."""

import base64
import contextlib
import os
import re
import ssl
import sys
import threading

from .bundle import bundle_folder
from .errors import E_FENCED, E_INVALID_REQUEST, E_NOT_LEADER, E_UNAUTHENTICATED, E_UNKNOWN_JOB, TitanError
from .job import JOB_ID, TitanJob, status_name
from .kv import KvMixin
from .leader import FAILOVER_TIMEOUT, connect_to_leader, parse_masters
from .pipeline_jobs import send_pipeline, titan_jobs_to_requests
from .rollout import RolloutMixin
from .security import SecurityMixin
from .wire import DEFAULT_MAX_FRAME, Connection, Op

DEFAULT_HOST = "127.0.0.1"


def _ssl_context(ca, cert, key):
    """TLS when a CA is given or $TITAN_TLS/$TITAN_CA say so (a job on a TLS worker gets them); mTLS with a cert and key."""
    ca = ca or os.environ.get("TITAN_CA")
    if not ca and os.environ.get("TITAN_TLS") not in ("1", "true"):
        return None
    ca = ca or os.path.join(_titan_home(), "certs", "ca.crt")
    context = ssl.create_default_context(cafile=ca)
    cert = cert or os.environ.get("TITAN_CERT")
    key = key or os.environ.get("TITAN_KEY")
    if cert:
        context.load_cert_chain(cert, key)
    return context
DEFAULT_PORT = 9090
#: Enough for a deposed leader's answer and a failover or two; each new connection is bounded in time.
MAX_ATTEMPTS = 6
MAX_WAIT_MS = 86_400_000
#: How much longer than the master's own wait timeout the client waits for the answer.
WAIT_MARGIN_SECONDS = 15.0


def _titan_home():
    return os.environ.get("TITAN_HOME") or os.path.join(os.path.expanduser("~"), ".titan")


def _read_local_token():
    try:
        with open(os.path.join(_titan_home(), "master", "token"), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _split_address(value):
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host.strip("[]") or DEFAULT_HOST, int(port)
    return value, None


def _wait_timeouts(timeout):
    """(timeoutMs for the master or None, seconds the client waits or None)."""
    if timeout is None:
        return None, None
    ms = max(0, min(int(timeout * 1000), MAX_WAIT_MS))
    return ms, ms / 1000 + WAIT_MARGIN_SECONDS


class TitanClient(KvMixin, SecurityMixin, RolloutMixin):
    """One persistent, authenticated connection to a Titan master, shared by every call (thread-safe).

    host/port default to $TITAN_HOST/$TITAN_PORT (set inside every job), then $TITAN_MASTER
    (host:port), then 127.0.0.1:9090. Several masters (high availability) are given as
    ``masters="a:9090,b:9090"`` (or a list, or such a string as host, or in $TITAN_MASTER): the
    client finds the leader among them and follows it; the token to $TITAN_TOKEN, then the local master's
    ``$TITAN_HOME/master/token`` (``~/.titan/master/token``). The connection opens on the first
    call and is reopened after a failure; calls that are safe to repeat are retried once.
    Failures raise TitanError(code, message).
    """

    def __init__(self, host=None, port=None, token=None, *, timeout=30.0, connect_timeout=5.0, max_frame=DEFAULT_MAX_FRAME,
                 tls_ca=None, tls_cert=None, tls_key=None, masters=None, failover_timeout=FAILOVER_TIMEOUT):
        if masters is None and host is not None and "," in str(host):
            masters = str(host)
        if masters is None and host is None and "," in os.environ.get("TITAN_MASTER", ""):
            masters = os.environ["TITAN_MASTER"]  # a list wins over TITAN_HOST, which names only the first master
        if masters is not None:
            self._masters = parse_masters(masters, DEFAULT_HOST)
            host, port = self._masters[0]
        if host is not None and port is None and ":" in str(host):
            host, port = _split_address(str(host))
        if host is None:
            master = os.environ.get("TITAN_MASTER")
            if os.environ.get("TITAN_HOST"):
                host = os.environ["TITAN_HOST"]
            elif master:
                host, master_port = _split_address(master)
                port = port if port is not None else master_port
            else:
                host = DEFAULT_HOST
        if port is None:
            port = os.environ.get("TITAN_PORT") or DEFAULT_PORT
        self.host = host
        self.port = int(port)
        if masters is None:
            self._masters = [(self.host, self.port)]
        self.failover_timeout = failover_timeout
        self._prefer = None  # the leader the last E_NOT_LEADER named: tried first by the next connection
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_frame = max_frame
        self._token = token or os.environ.get("TITAN_TOKEN") or _read_local_token()
        self._ssl = _ssl_context(tls_ca, tls_cert, tls_key)
        self._lock = threading.Lock()
        self._conn = None
        self._keys = {}  # job key -> global job id, for the DAGs submitted through this client
        self._projects = {}  # "<name>.zip" and "<name>" -> folder, from upload_project_folder

    # -- connection --------------------------------------------------------------------------

    def connect(self):
        """Opens (or checks) the connection now instead of on the first call; returns self."""
        self._connection()
        return self

    def close(self):
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connection(self):
        with self._lock:
            if self._conn is None or self._conn.closed:
                if not self._token:
                    raise TitanError(
                        E_UNAUTHENTICATED,
                        "no cluster token: pass TitanClient(token=...), set TITAN_TOKEN, or run where the master "
                        f"keeps it ({os.path.join(_titan_home(), 'master', 'token')})",
                    )
                me = os.environ.get("TITAN_JOB_ID") or os.path.basename(sys.argv[0] or "python")

                def open_one(host, port):
                    return Connection(host, port, self._token, name=f"python-sdk {me}", connect_timeout=self.connect_timeout,
                                      request_timeout=self.timeout, max_frame=self.max_frame, ssl_context=self._ssl)

                prefer, self._prefer = self._prefer, None
                self._conn = connect_to_leader(self._masters, open_one, prefer, self.failover_timeout)
            return self._conn

    def _call(self, opcode, body, timeout=-1, idempotent=True):
        """One request, sent again only when that cannot do it twice (docs/HA.md, "Finding the leader").

        Refused with E_NOT_LEADER or E_FENCED, the master did nothing: the request goes to the leader
        it named (or the next master). A lost connection is reopened, and the request repeated when
        idempotent: once with one master, as before lists; with several, through a failover.
        """
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                conn = self._connection()  # finding the leader has its own rounds and time bound
            except TitanError as err:
                # As before lists: with one master, a connection lost during AUTH is tried once more.
                if not (err.connection_lost and idempotent and attempt == 1 and len(self._masters) == 1):
                    raise
                continue
            try:
                return conn.request(opcode, body, timeout)
            except TitanError as err:
                if attempt == MAX_ATTEMPTS:
                    raise
                if err.code in (E_NOT_LEADER, E_FENCED):
                    self._prefer = err.leader
                    self.close()  # the next call opens a new connection, to the leader first
                elif not (err.connection_lost and idempotent and (attempt == 1 or len(self._masters) > 1)):
                    raise
        raise AssertionError("unreachable")

    def ping(self):
        return self._call(Op.PING, {})

    # -- job ids -----------------------------------------------------------------------------

    def _candidates(self, job_id):
        """Ids job_id may stand for: a DAG key submitted here, ``DAG-<key>``, ``<dag>/<key>``, or a key of $TITAN_DAG_ID."""
        jid = str(job_id)
        bare = jid[4:] if jid.startswith("DAG-") else jid
        out = []
        for cand in (self._keys.get(jid), self._keys.get(bare), jid.replace("/", ".", 1) if "/" in jid else None, jid, bare):
            if cand and cand not in out:
                out.append(cand)
        dag = os.environ.get("TITAN_DAG_ID")
        if dag and "." not in bare and f"{dag}.{bare}" not in out:
            out.append(f"{dag}.{bare}")
        valid = [c for c in out if JOB_ID.match(c)]
        return valid or [jid]

    def _job_call(self, opcode, job_id, extra=None, timeout=-1, idempotent=True):
        candidates = self._candidates(job_id)
        for i, cand in enumerate(candidates):
            try:
                return self._call(opcode, dict(extra or {}, jobId=cand), timeout, idempotent)
            except TitanError as err:
                if err.code != E_UNKNOWN_JOB or i == len(candidates) - 1:
                    raise
        raise AssertionError("unreachable")

    def _resolve(self, job_id):
        """The global id of job_id (see _candidates), checked with the master when there is a choice."""
        candidates = self._candidates(job_id)
        if len(candidates) == 1:
            return candidates[0]
        return self._job_call(Op.JOB_STATUS, job_id)["id"]

    # -- submitting --------------------------------------------------------------------------

    def submit_job(self, job):
        """Submits one TitanJob as a DAG of one (named after it); returns its job id ``<dagId>.<key>``."""
        dag_id = self.submit_dag(job.id, [job])
        return f"{dag_id}.{job.id}"

    def submit_dag(self, name, jobs, agent_run_id=None):
        """Submits TitanJobs (parents name other jobs' ids) as one DAG run; returns the DAG id.

        Each job's script is uploaded from disk. agent_run_id groups DAG runs of one agent: the DAG
        id is added to the KV set ``titan:agent-run:<agent_run_id>``; scheduling is unaffected.
        """
        requests = self._dag_requests(jobs, None)
        reply = self._call(Op.DAG_SUBMIT, {"name": (str(name) or "dag")[:200], "jobs": requests}, idempotent=False)
        return self._submitted(reply, requests, agent_run_id)

    def add_jobs(self, dag_id, jobs):
        """Adds TitanJobs to a running DAG (parents may name jobs already in it); returns their job ids."""
        requests = self._dag_requests(jobs, dag_id)
        reply = self._call(Op.DAG_ADD_JOBS, {"dagId": dag_id, "jobs": requests}, idempotent=False)
        self._submitted(reply, requests, None)
        return list(reply["jobIds"])

    def submit_yaml(self, yaml_path, agent_run_id=None, wait=False, poll_interval=2, timeout=300):
        """Submits a pipeline file, which the master parses and checks; returns the DAG id.

        The scripts it names are uploaded; with ``project: true`` the file's folder is uploaded as
        every job's workspace. With wait, blocks until the DAG is finished (the master pushes it:
        poll_interval is not used) and returns False if it is still running after timeout seconds
        (None: no limit). Problems in the file raise TitanError listing each with its line.
        """
        del poll_interval  # kept for compatibility: nothing polls
        path = os.fspath(yaml_path)
        reply = send_pipeline(self, path, self._read_pipeline(path))
        dag_id = self._submitted(reply, None, agent_run_id)
        if wait:
            status = self.wait_dag(dag_id, timeout=timeout)
            if status["dag"]["state"] == "running":
                return False
        return dag_id

    def add_yaml(self, dag_id, yaml_path):
        """Adds the jobs of a pipeline file to a running DAG (they may depend on its jobs); returns their job ids."""
        path = os.fspath(yaml_path)
        reply = send_pipeline(self, path, self._read_pipeline(path), {"dagId": dag_id})
        self._submitted(reply, None, None)
        return list(reply["jobIds"])

    @staticmethod
    def _read_pipeline(path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as err:
            raise TitanError(E_INVALID_REQUEST, f"cannot read pipeline {path}: {err.strerror or err}") from None

    def _submitted(self, reply, requests, agent_run_id):
        """Remembers each job's id by its key (requests None: the keys are read off the ids, ``<dagId>.<key>``)."""
        dag_id = reply["dagId"]
        job_ids = reply.get("jobIds") or []
        keys = [r["key"] for r in requests] if requests is not None else [j[len(dag_id) + 1:] for j in job_ids]
        for key, job_id in zip(keys, job_ids):
            self._keys[key] = job_id
        if agent_run_id:
            self.store_sadd(f"titan:agent-run:{agent_run_id}", dag_id)
        return dag_id

    def _dag_requests(self, jobs, dag_id):
        return titan_jobs_to_requests(jobs, dag_id, self)

    # -- uploads -----------------------------------------------------------------------------

    def upload_bytes(self, data):
        """Stores bytes in the master's content-addressed store; returns their sha256 hex."""
        body = {"data": base64.b64encode(bytes(data)).decode("ascii"), "encoding": "base64"}
        return self._call(Op.ARTIFACT_PUT, body)["hash"]

    def upload_file(self, filepath):
        """Uploads a file; returns its hash (what a job's run or publish refers to)."""
        path = os.fspath(filepath)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise TitanError(E_INVALID_REQUEST, f"cannot upload {path}: {err.strerror or err}") from None
        return self.upload_bytes(data)

    def upload_project_folder(self, folder_path, project_name=None):
        """Uploads a folder (as tar.gz, without .git, node_modules, __pycache__); returns its hash.

        The folder is remembered as ``<project_name>.zip`` (default: its name) for TitanJobs with
        is_archive=True and filename ``<project_name>.zip/<entry>``.
        """
        folder = os.path.abspath(os.fspath(folder_path))
        digest = self.upload_bytes(bundle_folder(folder))
        name = project_name or os.path.basename(folder.rstrip(os.sep))
        self._projects[f"{name}.zip"] = folder
        self._projects[name] = folder
        return digest

    def deploy_script(self, filepath, port=0, requirement="GENERAL"):
        """Runs a script as a service (a DAG of one DEPLOY_PAYLOAD job); returns its service id ``<dagId>.<key>``.

        The key is the file's name without its extension (``web_server.py`` → ``web_server``). The
        worker hands the script ``PORT`` (port; 0: a free port it picks) and keeps it running until
        stop_service; list_services shows where it answers once ready::

            service_id = client.deploy_script("web_server.py", port=8080)
            client.stop_service(service_id)
        """
        path = os.fspath(filepath)
        stem = os.path.splitext(os.path.basename(path))[0]
        key = re.sub(r"[^A-Za-z0-9._-]", "-", stem)[:128].strip(".") or "service"
        return self.submit_job(TitanJob(key, path, job_type="DEPLOY_PAYLOAD", port=port, requirement=requirement))

    # -- jobs --------------------------------------------------------------------------------

    def status(self, job_id):
        """The job's view: {id, name, state, attempt, workerId, exitCode, reason, dagId, ...}."""
        return self._job_call(Op.JOB_STATUS, job_id)

    def get_job_status(self, job_id):
        """PENDING, RUNNING, COMPLETED, FAILED, DEAD or CANCELLED (the original SDK's names)."""
        return status_name(self.status(job_id)["state"])

    def wait(self, job_id, timeout=None):
        """Blocks until the job is final (the master pushes it) and returns its view; after timeout seconds, its current view."""
        ms, client_timeout = _wait_timeouts(timeout)
        extra = {} if ms is None else {"timeoutMs": ms}
        return self._job_call(Op.JOB_WAIT, job_id, extra, timeout=client_timeout)

    def cancel(self, job_id):
        return self._job_call(Op.JOB_CANCEL, job_id)

    def retry(self, job_id):
        """Runs a failed, dead, cancelled or skipped job again (and reopens its DAG)."""
        return self._job_call(Op.JOB_RETRY, job_id, idempotent=False)

    def approve(self, job_id, by=None):
        """Lets a job waiting for approval (hitl_message / approval:) run."""
        return self._job_call(Op.JOB_APPROVE, job_id, {} if by is None else {"by": by}, idempotent=False)

    def reject(self, job_id, reason="", by=None):
        """Fails a job waiting for approval; its DAG then follows its trigger rules."""
        extra = {"reason": reason} if by is None else {"reason": reason, "by": by}
        return self._job_call(Op.JOB_REJECT, job_id, extra, idempotent=False)

    def history(self, job_id):
        """{job, events}: the job and every state change it went through."""
        return self._job_call(Op.JOB_HISTORY, job_id)

    def list_jobs(self, states=None, limit=50):
        body = {"limit": limit} if states is None else {"limit": limit, "states": list(states)}
        return self._call(Op.JOB_LIST, body)["jobs"]

    def stats(self):
        """{uptimeMs, workers, queues, jobs}: the cluster at a glance."""
        return self._call(Op.CLUSTER_STATS, {})

    def _read_stream(self, opcode, body_of, **options):
        """Yields the chunks of a read-only stream, opened again with body_of() (which resumes after what was
        yielded) when the connection is lost or the master no longer leads, as _call resends a read."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                conn = self._connection()  # finding the leader has its own rounds and time bound
            except TitanError as err:
                if not (err.connection_lost and attempt == 1 and len(self._masters) == 1):
                    raise
                continue
            try:
                chunks = conn.stream(opcode, body_of(), **options)
                with contextlib.closing(chunks):  # leaving early cancels the stream on the master
                    yield from chunks
                return
            except TitanError as err:
                if attempt == MAX_ATTEMPTS:
                    raise
                if err.code in (E_NOT_LEADER, E_FENCED):
                    self._prefer = err.leader
                    self.close()  # the next connection goes to the leader it named first
                elif not (err.connection_lost and (attempt == 1 or len(self._masters) > 1)):
                    raise

    def logs(self, job_id, after_seq=0):
        """The job's stored log lines as dicts {seq, attempt, stream, at, line}."""
        jid = self._resolve(job_id)
        lines = []

        def resume():
            return {"jobId": jid, "afterSeq": lines[-1]["seq"] if lines else after_seq, "follow": False}

        for chunk in self._read_stream(Op.JOB_LOGS, resume, chunk_timeout=self.timeout):
            lines.extend(chunk.get("lines") or [])
        return lines

    def fetch_logs(self, job_id):
        """Everything the job printed so far (stdout and stderr, in order) as one text."""
        return "\n".join(line["line"] for line in self.logs(job_id))

    def follow_logs(self, job_id, after_seq=0):
        """Yields the job's output lines as they are written, until the job is final. Closing the generator stops it.

        Through a lost connection or a failover it goes on after the last line it yielded: each line once."""
        jid = self._resolve(job_id)
        seen = [after_seq]
        for chunk in self._read_stream(Op.JOB_LOGS, lambda: {"jobId": jid, "afterSeq": seen[0], "follow": True}):
            for line in chunk.get("lines") or []:
                seen[0] = max(seen[0], line.get("seq", seen[0]))
                yield line["line"]

    # -- services ----------------------------------------------------------------------------

    def list_services(self):
        """The running services: [{id, name, state, workerId, host, port, pid, restarts, ready, uptimeMs}].

        ``port`` and ``host`` are where the service answers (None until its worker reports it)::

            for s in client.list_services():
                print(s["id"], "ready" if s["ready"] else s["state"], f'{s["host"]}:{s["port"]}')
        """
        return self._call(Op.SERVICE_LIST, {})["services"]

    services = list_services  # the TypeScript SDK's name

    def stop_service(self, service_id):
        """Stops a service for good (its process tree is killed, it is not restarted); returns its job view.

        service_id takes the forms job ids do (``<dagId>.<key>``, a key submitted through this
        client, ``DAG-<key>``, ...). The job ends ``stopped`` (get_job_status: CANCELLED)::

            client.stop_service("api")
        """
        return self._job_call(Op.SERVICE_STOP, service_id, idempotent=False)

    def restart_service(self, service_id):
        """Restarts a service as a new attempt (its current process is killed); returns its job view.

            client.restart_service(service_id)
        """
        return self._job_call(Op.SERVICE_RESTART, service_id, idempotent=False)

    # -- DAGs --------------------------------------------------------------------------------

    def dag_status(self, dag_id):
        """{dag: {id, name, state, total, unfinished, failed, ...}, jobs: [job views with key and parents]}."""
        return self._call(Op.DAG_STATUS, {"dagId": dag_id})

    def wait_dag(self, dag_id, timeout=None):
        """Blocks until the DAG is finished (pushed by the master); returns its status (state 'running' after a timeout)."""
        ms, client_timeout = _wait_timeouts(timeout)
        body = {"dagId": dag_id} if ms is None else {"dagId": dag_id, "timeoutMs": ms}
        return self._call(Op.DAG_WAIT, body, timeout=client_timeout)

    def cancel_dag(self, dag_id):
        return self._call(Op.DAG_CANCEL, {"dagId": dag_id})

    def list_dags(self, limit=30):
        return self._call(Op.DAG_LIST, {"limit": limit})["dags"]
