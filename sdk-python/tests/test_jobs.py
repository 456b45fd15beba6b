"""Jobs, DAGs, pipelines, logs and approvals against a real master and ONE worker (so the DAG shared folder is common)."""

import os
import shutil
import socket
import textwrap
import threading
import time
import unittest

from titan_test_support import ACCEPTANCE, SDK_DIR, Cluster, temp_dir, until

from titan_sdk import TitanError, TitanJob

SCRIPTS = {
    "hello.py": """
        import sys
        print("hello", " ".join(sys.argv[1:]))
        sys.stderr.write("to stderr\\n")
    """,
    "sleep.py": """
        import sys, time
        time.sleep(float(sys.argv[1]))
        print("slept", sys.argv[1])
    """,
    "ticker.py": """
        import sys, time
        for i in range(int(sys.argv[1])):
            print("tick", i, flush=True)
            time.sleep(float(sys.argv[2]))
    """,
    "fail.py": """
        import sys
        print("about to fail")
        sys.exit(3)
    """,
    "append.py": """
        import os, sys
        path = os.path.join(os.environ["TITAN_SHARED_DIR"], "order.txt")
        with open(path, "a") as f:
            f.write(sys.argv[1] + "\\n")
        print(open(path).read().split())
    """,
    "mapper.py": """
        import os, sys
        n = int(sys.argv[1])
        with open(os.path.join(os.environ["TITAN_SHARED_DIR"], f"part-{n}.txt"), "w") as f:
            f.write(str(n * n))
        print(f"mapped {n}")
    """,
    "reducer.py": """
        import glob, os
        parts = sorted(glob.glob(os.path.join(os.environ["TITAN_SHARED_DIR"], "part-*.txt")))
        print(f"PARTS {len(parts)}")
        print(f"TOTAL {sum(int(open(p).read()) for p in parts)}")
    """,
    "uses_sdk.py": """
        import os
        from titan_sdk import TitanClient
        client = TitanClient()  # TITAN_HOST, TITAN_PORT and TITAN_TOKEN come from the worker
        client.store_put("written-by-job", os.environ["TITAN_JOB_ID"])
        print("status of myself:", client.get_job_status(os.environ["TITAN_JOB_ID"]))
    """,
}


class JobTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir("titan-py-scripts-")
        for name, body in SCRIPTS.items():
            with open(os.path.join(cls.dir, name), "w") as f:
                f.write(textwrap.dedent(body).lstrip())
        try:
            cls.cluster = Cluster().start(workers=1, slots=8)
        except BaseException:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise
        cls.client = cls.cluster.client()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def script(self, name):
        return os.path.join(self.dir, name)

    def test_submit_job_of_a_py_file_and_fetch_logs(self):
        job_id = self.client.submit_job(TitanJob("hello", self.script("hello.py"), args='a "b c"'))
        self.assertRegex(job_id, r"^[A-Za-z0-9_-]+\.hello$")
        view = self.client.wait(job_id, timeout=30)
        self.assertEqual(view["state"], "succeeded")
        self.assertEqual(view["exitCode"], 0)
        logs = self.client.fetch_logs(job_id)
        self.assertIn("hello a b c", logs)
        self.assertIn("to stderr", logs)
        # The original SDK's ids: the job's own id, and DAG-<id>.
        self.assertEqual(self.client.get_job_status(job_id), "COMPLETED")
        self.assertEqual(self.client.get_job_status("hello"), "COMPLETED")
        self.assertEqual(self.client.get_job_status("DAG-hello"), "COMPLETED")
        self.assertIn("hello a b c", self.client.fetch_logs("DAG-hello"))

    def test_wait_is_pushed_by_the_master(self):
        job_id = self.client.submit_job(TitanJob("sleeper", self.script("sleep.py"), args="1.5"))
        early = self.client.wait(job_id, timeout=0.2)  # the master answers with the current view after 200 ms
        self.assertIn(early["state"], ("queued", "assigned", "running"))
        started = time.monotonic()
        view = self.client.wait(job_id)  # no timeout: one request, answered when the job finishes
        elapsed = time.monotonic() - started
        self.assertEqual(view["state"], "succeeded")
        self.assertLess(elapsed, 10)
        self.assertIn("slept 1.5", self.client.fetch_logs(job_id))

    def test_status_mapping(self):
        failing = self.client.submit_job(TitanJob("failing", self.script("fail.py")))
        self.assertEqual(self.client.wait(failing, timeout=30)["exitCode"], 3)
        self.assertEqual(self.client.get_job_status(failing), "FAILED")

        dag_id = self.client.submit_dag("statuses", [
            TitanJob("long", self.script("sleep.py"), args="30"),
            TitanJob("after-long", self.script("hello.py"), parents=["long"]),
        ])
        long_id = f"{dag_id}.long"
        until("the long job to run", lambda: self.client.status(long_id)["state"] == "running")
        self.assertEqual(self.client.get_job_status(long_id), "RUNNING")
        self.assertEqual(self.client.get_job_status(f"{dag_id}.after-long"), "PENDING")
        self.assertEqual(self.client.cancel(long_id)["state"], "cancelled")
        self.assertEqual(self.client.get_job_status(long_id), "CANCELLED")
        final = self.client.wait_dag(dag_id, timeout=30)
        self.assertNotEqual(final["dag"]["state"], "running")
        self.assertEqual(self.client.get_job_status(f"{dag_id}.after-long"), "CANCELLED")  # skipped

        with self.assertRaises(TitanError) as caught:
            self.client.get_job_status("no-such-job")
        self.assertEqual(caught.exception.code, "E_UNKNOWN_JOB")

    def test_dag_with_parents_runs_in_order(self):
        dag_id = self.client.submit_dag("chain", [
            TitanJob("c", self.script("append.py"), args="c", parents=["b"]),
            TitanJob("a", self.script("append.py"), args="a"),
            TitanJob("b", self.script("append.py"), args="b", parents=["DAG-a"]),
        ])
        status = self.client.wait_dag(dag_id, timeout=60)
        self.assertEqual(status["dag"]["state"], "succeeded")
        self.assertEqual(sorted(j["key"] for j in status["jobs"]), ["a", "b", "c"])
        self.assertIn("['a', 'b', 'c']", self.client.fetch_logs(f"{dag_id}.c"))

    def test_map_reduce_fan_out_fan_in(self):
        mappers = [TitanJob(f"map-{n}", self.script("mapper.py"), args=str(n)) for n in range(1, 6)]
        reducer = TitanJob("reduce", self.script("reducer.py"), parents=[m.id for m in mappers])
        dag_id = self.client.submit_dag("map-reduce", mappers + [reducer])
        status = self.client.wait_dag(dag_id, timeout=60)
        self.assertEqual(status["dag"]["state"], "succeeded", status)
        logs = self.client.fetch_logs(f"{dag_id}.reduce")
        self.assertIn("PARTS 5", logs)
        self.assertIn("TOTAL 55", logs)  # 1 + 4 + 9 + 16 + 25

    def test_submit_yaml_diamond_waits(self):
        path = os.path.join(ACCEPTANCE, "diamond.yaml")
        dag_id = self.client.submit_yaml(path, agent_run_id="agent-1", wait=True, timeout=120)
        self.assertTrue(dag_id)
        status = self.client.dag_status(dag_id)
        self.assertEqual(status["dag"]["state"], "succeeded")
        self.assertEqual({j["key"]: j["state"] for j in status["jobs"]},
                         {"root": "succeeded", "left": "succeeded", "right": "succeeded", "sink": "succeeded"})
        sink = self.client.fetch_logs(f"{dag_id}.sink")
        self.assertIn("left", sink)
        self.assertIn("right", sink)
        self.assertIn(dag_id, self.client.store_smembers("titan:agent-run:agent-1"))

    def test_submit_yaml_of_the_acceptance_service_pipeline(self):
        path = os.path.join(ACCEPTANCE, "service.yaml")
        dag_id = self.client.submit_yaml(path, wait=True, timeout=120)  # the ready service counts as done
        try:
            self.assertTrue(dag_id)
            self.assertEqual(self.client.dag_status(dag_id)["dag"]["state"], "succeeded")
            self.assertEqual(self.client.fetch_logs(f"{dag_id}.client"), "pong")
        finally:
            if dag_id:
                self.assertEqual(self.client.stop_service(f"{dag_id}.api")["state"], "stopped")

    def test_submit_yaml_refuses_bad_files(self):
        bad = os.path.join(self.dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("name: bad\njobs:\n  - id: a\n    command: echo a\n    depend_on: [b]\n")
        with self.assertRaises(TitanError) as caught:
            self.client.submit_yaml(bad)
        self.assertEqual(caught.exception.code, "E_INVALID_REQUEST")
        self.assertIn("bad.yaml:5:", caught.exception.message)
        self.assertIn('did you mean "depends_on"', caught.exception.message)

    def test_submit_yaml_uploads_the_scripts_it_names_and_add_yaml_grows_the_run(self):
        folder = os.path.join(self.dir, "grown")
        os.makedirs(os.path.join(folder, "steps"), exist_ok=True)
        with open(os.path.join(folder, "steps", "first.py"), "w") as f:
            f.write('import time\ntime.sleep(1)\nprint("first ran")\n')
        first = os.path.join(folder, "first.yaml")
        with open(first, "w") as f:
            f.write("name: grown\njobs:\n  - id: first\n    file: ./steps/first.py\n")
        more = os.path.join(folder, "more.yaml")
        with open(more, "w") as f:
            f.write("name: more\njobs:\n  - id: second\n    command: echo second ran\n    depends_on: [first]\n")
        dag_id = self.client.submit_yaml(first)
        self.assertEqual(self.client.add_yaml(dag_id, more), [f"{dag_id}.second"])
        self.assertEqual(self.client.wait_dag(dag_id, timeout=60)["dag"]["state"], "succeeded")
        self.assertEqual(self.client.fetch_logs(f"{dag_id}.first").strip(), "first ran")
        self.assertEqual(self.client.fetch_logs("second").strip(), "second ran")  # known by its key

    def test_submit_yaml_names_a_missing_script_and_a_zoneless_run_at_at_their_lines(self):
        missing = os.path.join(self.dir, "missing.yaml")
        with open(missing, "w") as f:
            f.write("name: missing\njobs:\n  - id: a\n    file: nowhere.py\n")
        with self.assertRaises(TitanError) as caught:
            self.client.submit_yaml(missing)
        self.assertEqual(caught.exception.code, "E_INVALID_REQUEST")
        self.assertIn("job a (line 3): file nowhere.py not found next to the pipeline", caught.exception.message)
        later = os.path.join(self.dir, "later.yaml")
        with open(later, "w") as f:
            f.write("name: x\nrun_at: soon\njobs:\n  - id: a\n    command: echo a\n")
        with self.assertRaisesRegex(TitanError, r"later.yaml:2: run_at must be an ISO 8601 time"):
            self.client.submit_yaml(later)

    def test_follow_logs_yields_lines_of_a_running_job(self):
        job_id = self.client.submit_job(TitanJob("ticker", self.script("ticker.py"), args="5 0.3"))
        seen = []
        states = []
        for line in self.client.follow_logs(job_id):
            seen.append(line)
            states.append(self.client.get_job_status(job_id))
        self.assertEqual(seen, [f"tick {i}" for i in range(5)])
        self.assertEqual(states[0], "RUNNING")  # the first line came while the job still ran
        self.assertEqual(self.client.get_job_status(job_id), "COMPLETED")

    def test_leaving_follow_logs_early_cancels_the_stream(self):
        job_id = self.client.submit_job(TitanJob("endless", self.script("ticker.py"), args="10000 0.1"))
        lines = self.client.follow_logs(job_id)
        self.assertEqual(next(lines), "tick 0")
        lines.close()
        self.assertEqual(self.client.cancel(job_id)["state"], "cancelled")
        self.assertEqual(self.client.get_job_status(job_id), "CANCELLED")

    def test_hitl_message_gates_the_dependants_after_the_job(self):
        dag_id = self.client.submit_dag("gated", [
            TitanJob("gated", self.script("hello.py"), args="approved", hitl_message="Ship it?"),
            TitanJob("after", self.script("hello.py"), args="after", parents=["gated"]),
        ])
        self.assertEqual(self.client.wait(f"{dag_id}.gated", timeout=30)["state"], "succeeded")
        gate = f"{dag_id}.hitl-gate-gated"
        self._await_approval(gate)
        self.assertIn("Ship it?", self.client.status(gate)["reason"])
        self.assertEqual(self.client.status(f"{dag_id}.after")["state"], "pending")
        self.client.approve(f"{dag_id}.gated", by="unittest")  # the gated job's id decides its gate
        self.assertEqual(self.client.wait_dag(dag_id, timeout=30)["dag"]["state"], "succeeded")

        rejected = self.client.submit_job(TitanJob("gated-no", self.script("hello.py"), hitl_message="Really?"))
        self.assertEqual(self.client.wait(rejected, timeout=30)["state"], "succeeded")
        self._await_approval(rejected.replace(".gated-no", ".hitl-gate-gated-no"))
        self.client.reject(rejected, reason="not today")
        self.assertEqual(self.client.get_job_status(rejected.replace(".gated-no", ".hitl-gate-gated-no")), "FAILED")

    def _await_approval(self, job_id):
        deadline = time.time() + 30
        while "awaiting approval" not in (self.client.status(job_id).get("reason") or ""):
            self.assertLess(time.time(), deadline, f"{job_id} never awaited approval")
            time.sleep(0.1)

    def test_add_jobs_to_a_running_dag(self):
        dag_id = self.client.submit_dag("growing", [TitanJob("first", self.script("sleep.py"), args="1")])
        ids = self.client.add_jobs(dag_id, [TitanJob("second", self.script("hello.py"), args="second", parents=["first"])])
        self.assertEqual(ids, [f"{dag_id}.second"])
        self.assertEqual(self.client.wait_dag(dag_id, timeout=30)["dag"]["state"], "succeeded")
        self.assertIn("hello second", self.client.fetch_logs(ids[0]))

    def test_delay_and_command_jobs(self):
        job_id = self.client.submit_job(TitanJob("later", command="echo later", delay=1))
        view = self.client.wait(job_id, timeout=30)
        self.assertEqual(view["state"], "succeeded")
        self.assertGreaterEqual(view["startedAt"] - view["submittedAt"], 900)
        self.assertEqual(self.client.fetch_logs(job_id), "later")

    def test_archive_job_runs_in_the_uploaded_folder(self):
        project = os.path.join(self.dir, "proj")
        os.makedirs(os.path.join(project, "lib"), exist_ok=True)
        os.makedirs(os.path.join(project, "node_modules"), exist_ok=True)
        with open(os.path.join(project, "lib", "__init__.py"), "w"):
            pass
        with open(os.path.join(project, "lib", "helper.py"), "w") as f:
            f.write("def greet(who):\n    return 'hi ' + who\n")
        with open(os.path.join(project, "main.py"), "w") as f:
            f.write("import os, sys\nfrom lib.helper import greet\nprint(greet(sys.argv[1]), os.path.exists('node_modules'))\n")
        self.client.upload_project_folder(project)
        job_id = self.client.submit_job(TitanJob("archived", "proj.zip/main.py", is_archive=True, args="bundle"))
        self.assertEqual(self.client.wait(job_id, timeout=30)["state"], "succeeded")
        self.assertEqual(self.client.fetch_logs(job_id), "hi bundle False")

    def test_unknown_job_types_and_missing_files_are_refused(self):
        with self.assertRaises(TitanError) as caught:
            self.client.submit_job(TitanJob("odd", self.script("hello.py"), job_type="RUN_SOMEWHERE"))
        self.assertIn("unknown job_type", caught.exception.message)
        with self.assertRaises(FileNotFoundError):
            TitanJob("missing", os.path.join(self.dir, "missing.py"))

    def test_the_sdk_inside_a_job_needs_no_configuration(self):
        job = TitanJob("inside", self.script("uses_sdk.py"), env={"PYTHONPATH": SDK_DIR})
        job_id = self.client.submit_job(job)
        view = self.client.wait(job_id, timeout=30)
        self.assertEqual(view["state"], "succeeded", self.client.fetch_logs(job_id))
        self.assertEqual(self.client.store_get("written-by-job"), job_id)
        self.assertIn("status of myself: RUNNING", self.client.fetch_logs(job_id))

    def test_one_connection_serves_several_threads(self):
        job_id = self.client.submit_job(TitanJob("slow", self.script("sleep.py"), args="1"))
        result = {}
        waiter = threading.Thread(target=lambda: result.setdefault("view", self.client.wait(job_id, timeout=30)))
        waiter.start()
        calls = 0
        while waiter.is_alive() and calls < 100000:
            self.client.store_put("counter", calls)
            calls += 1
        waiter.join(timeout=35)
        self.assertEqual(result["view"]["state"], "succeeded")
        self.assertGreater(calls, 10)  # calls went through while wait() was blocked on the same connection
        self.assertEqual(self.client.store_get("counter"), str(calls - 1))

    def test_reconnects_after_the_connection_drops(self):
        client = self.cluster.client()
        self.assertIn("workers", client.stats())
        client._conn._sock.shutdown(socket.SHUT_RDWR)  # as if the network dropped it
        until("the client to notice", lambda: client._conn.closed, timeout=5)
        self.assertIn("workers", client.stats())


if __name__ == "__main__":
    unittest.main()
