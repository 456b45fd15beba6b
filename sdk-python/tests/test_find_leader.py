"""Several masters: the SDK finds the leader through a standby responder (the master's own module, run by
dist/test/standby-main.js), passes over dead and slamming addresses, and never runs a refused submit twice."""

import base64
import hashlib
import os
import re
import shutil
import socket
import subprocess
import textwrap
import threading
import time
import unittest

from titan_test_support import NODE, REPO, TOKEN, Cluster, temp_dir, until

from titan_sdk import TitanClient, TitanError, TitanJob
from titan_sdk.wire import ERROR, RESPONSE, Op, decode_envelope, decode_header, encode_frame

STANDBY_MAIN = os.path.join(REPO, "dist", "test", "standby-main.js")


def start_standby(leader):
    """A standby responder process naming `leader` (see name_leader); returns (process, its host:port)."""
    proc = subprocess.Popen([NODE, STANDBY_MAIN, leader], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    match = re.search(r"standby on (127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"the standby printed {line!r}")
    return proc, match.group(1)


def name_leader(standby, leader):
    """Makes the standby name `leader` from now on (None: no leader known); returns once it does."""
    standby.stdin.write(f"{leader or '-'}\n".encode())
    standby.stdin.flush()
    standby.stdout.readline()


def stop_standby(standby):
    standby.kill()
    standby.wait()
    standby.stdin.close()
    standby.stdout.close()


class Listener:
    """A loopback listener on a thread; `handle(conn)` serves each connection."""

    def __init__(self, handle):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._handle = handle
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def close(self):
        self.sock.close()


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def dead_address():
    sock = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    return address


class FindingTheLeaderTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir("titan-py-leader-")
        with open(os.path.join(cls.dir, "hello.py"), "w") as f:
            f.write(textwrap.dedent('print("hello from the leader")\n'))
        cls.cluster = Cluster().start(workers=1)
        cls.leader = f"127.0.0.1:{cls.cluster.port}"
        cls.standby, cls.standby_address = start_standby(cls.leader)

    @classmethod
    def tearDownClass(cls):
        stop_standby(cls.standby)
        cls.cluster.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def client(self, masters, **options):
        client = TitanClient(masters=masters, token=TOKEN, **options)
        self.addCleanup(client.close)
        return client

    def run_hello(self, client, name):
        job_id = client.submit_job(TitanJob(name, os.path.join(self.dir, "hello.py")))
        self.assertEqual(client.wait(job_id, timeout=30)["state"], "succeeded")
        self.assertIn("hello from the leader", client.fetch_logs(job_id))
        return job_id

    def test_standby_then_leader_and_the_standby_alone_both_reach_the_leader(self):
        self.run_hello(self.client([self.standby_address, self.leader]), "via-list")
        self.run_hello(self.client(self.standby_address), "via-standby")
        # A comma-separated string as host, as TITAN_MASTER would hold it, is a list too.
        as_host = TitanClient(f"{self.standby_address},{self.leader}", token=TOKEN)
        self.addCleanup(as_host.close)
        self.run_hello(as_host, "via-host")

    def test_a_first_address_that_closes_every_connection_is_passed_over(self):
        slammer = Listener(lambda conn: conn.close())
        self.addCleanup(slammer.close)
        self.run_hello(self.client(f"{slammer.address},{self.leader}"), "after-slammer")
        self.assertGreaterEqual(slammer.connections, 1)

    def test_every_address_dead_fails_naming_each_after_the_failover_time(self):
        dead = [dead_address(), dead_address()]
        client = self.client(dead, failover_timeout=0.6)
        started = time.monotonic()
        with self.assertRaises(TitanError) as caught:
            client.stats()
        self.assertEqual(caught.exception.code, "E_CONNECTION_CLOSED")
        for address in dead:
            self.assertIn(address, caught.exception.message)
        self.assertGreaterEqual(time.monotonic() - started, 0.5)

    def test_a_submit_refused_with_e_not_leader_runs_exactly_once_on_the_named_leader(self):
        refused = []
        observer = self.cluster.client()
        observer.upload_file(os.path.join(self.dir, "hello.py"))
        fake = Listener(deposed_master(self.leader, refused))
        self.addCleanup(fake.close)
        name = f"once{int(time.time() * 1000)}"
        job_id = self.run_hello(self.client([fake.address, self.leader]), name)
        self.assertEqual([opcode for opcode, _ in refused if opcode == Op.DAG_SUBMIT], [Op.DAG_SUBMIT])
        self.assertEqual([j["id"] for j in observer.list_jobs(limit=1000) if j["id"].endswith(f".{name}")], [job_id])

    def test_log_reads_and_follows_refused_with_e_not_leader_go_on_at_the_named_leader(self):
        job_id = self.run_hello(self.cluster.client(), f"logs{int(time.time() * 1000)}")
        refused = []
        fake = Listener(deposed_master(self.leader, refused))
        self.addCleanup(fake.close)
        self.assertIn("hello from the leader", [line["line"] for line in self.client([fake.address, self.leader]).logs(job_id)])
        self.assertEqual(list(self.client([fake.address, self.leader]).follow_logs(job_id)), ["hello from the leader"])
        self.assertEqual([opcode for opcode, _ in refused if opcode == Op.JOB_LOGS], [Op.JOB_LOGS, Op.JOB_LOGS])


def deposed_master(leader, refused):
    """Serves a connection as a master that lost its lease after AUTH: every request but an artifact upload
    is answered E_NOT_LEADER naming `leader`, and recorded in `refused` as (opcode, body)."""

    def serve(conn):
        try:
            while True:
                _version, opcode, flags, length = decode_header(read_exact(conn, 8))
                rid, body = decode_envelope(opcode, flags, read_exact(conn, length))
                if opcode == Op.AUTH:
                    conn.sendall(encode_frame(opcode, RESPONSE, rid, {"ok": True, "heartbeatIntervalMs": 2000}))
                    continue
                if opcode == Op.ARTIFACT_PUT:  # stored before it lost the lease: the leader has these bytes too
                    digest = hashlib.sha256(base64.b64decode(body["data"])).hexdigest()
                    conn.sendall(encode_frame(opcode, RESPONSE, rid, {"hash": digest}))
                    continue
                refused.append((opcode, body))
                error = {"code": "E_NOT_LEADER", "message": "lost the lease", "leader": leader}
                conn.sendall(encode_frame(opcode, RESPONSE | ERROR, rid, error))
        except (EOFError, OSError):
            conn.close()

    return serve


class WaitAcrossAMasterRestartTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir("titan-py-restart-")
        with open(os.path.join(cls.dir, "slow.py"), "w") as f:
            f.write('import time\nprint("before the restart", flush=True)\ntime.sleep(2)\n')
        cls.cluster = Cluster()
        try:
            cls.cluster.start_master()
            cls.standby, cls.standby_address = start_standby(f"127.0.0.1:{cls.cluster.port}")
            cls.cluster.start_worker("survivor", masters=f"{cls.standby_address},127.0.0.1:{cls.cluster.port}")
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        stop_standby(cls.standby)
        cls.cluster.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_wait_gets_the_result_after_the_master_is_killed_and_started_on_a_new_port(self):
        old_leader = f"127.0.0.1:{self.cluster.port}"
        client = TitanClient(masters=[old_leader, self.standby_address], token=TOKEN)
        self.addCleanup(client.close)
        job_id = client.submit_job(TitanJob("slow", os.path.join(self.dir, "slow.py")))
        # The job is under way once its first line is stored: the master is killed mid-run.
        until("the job to print", lambda: client.logs(job_id))
        outcome = {}

        def wait():
            try:
                outcome["view"] = client.wait(job_id, timeout=60)
            except Exception as err:  # reported by the assertion below
                outcome["error"] = err

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.2)  # the wait is with the master
        name_leader(self.standby, None)  # between the two leaders the standby knows none
        self.cluster.master.kill()
        self.cluster.master.wait()
        self.cluster.start_master()
        self.assertNotEqual(f"127.0.0.1:{self.cluster.port}", old_leader)
        name_leader(self.standby, f"127.0.0.1:{self.cluster.port}")
        waiter.join(60)
        self.assertNotIn("error", outcome)
        self.assertEqual(outcome["view"]["state"], "succeeded")
        self.assertEqual(outcome["view"]["attempt"], 1, "the worker kept the job running and reported it to the new master")
        self.assertIn("before the restart", client.fetch_logs(job_id))


if __name__ == "__main__":
    unittest.main()
