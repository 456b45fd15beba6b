"""Services against a real master and worker: service jobs in DAGs and pipelines, list, stop, restart, deploy_script."""

import os
import shutil
import socket
import textwrap
import unittest

from titan_test_support import Cluster, temp_dir, until

from titan_sdk import TitanError, TitanJob

SCRIPTS = {
    # A python http.server on 127.0.0.1:$PORT answering "pong <pid>" to every GET.
    "pong_server.py": """
        import http.server, os
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = f"pong {os.getpid()}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a):
                pass
        http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """,
    # Reads the service named by argv[1] (its key) from TITAN_SERVICE_<KEY>_URL and prints the answer.
    "ping_client.py": """
        import os, sys, urllib.request
        key = sys.argv[1].upper().replace("-", "_")
        url = os.environ[f"TITAN_SERVICE_{key}_URL"]
        port = os.environ[f"TITAN_SERVICE_{key}_PORT"]
        print("url", url, "port", port)
        print("answer:", urllib.request.urlopen(url, timeout=5).read().decode())
    """,
}


def _answer(port):
    """What the service on 127.0.0.1:port answers, or None when nothing listens there."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.split(b"\r\n\r\n", 1)[-1].decode()
    except OSError:
        return None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir("titan-py-services-")
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

    def tearDown(self):
        for service in self.client.list_services():  # no test leaves a service running
            try:
                self.client.stop_service(service["id"])
            except TitanError:
                pass

    def script(self, name):
        return os.path.join(self.dir, name)

    def service(self, service_id):
        return next((s for s in self.client.list_services() if s["id"] == service_id), None)

    def ready_service(self, service_id):
        return until(f"service {service_id} to be ready",
                     lambda: (lambda s: s if s is not None and s["ready"] and s["port"] else None)(self.service(service_id)),
                     timeout=30)

    def assert_stopped(self, service_id, stop_with, port):
        view = self.client.stop_service(stop_with)
        self.assertEqual(view["id"], service_id)
        self.assertEqual(view["state"], "stopped")
        self.assertEqual(self.client.get_job_status(service_id), "CANCELLED")
        self.assertIsNone(self.service(service_id))
        until(f"port {port} to close", lambda: _answer(port) is None, timeout=15)
        with self.assertRaises(TitanError) as caught:
            self.client.stop_service(service_id)  # no longer a running service
        self.assertEqual(caught.exception.code, "E_UNKNOWN_JOB")

    def test_dag_with_a_service_and_a_client(self):
        dag_id = self.client.submit_dag("service-and-client", [
            TitanJob("api", self.script("pong_server.py"), job_type="DEPLOY_PAYLOAD"),  # port 0: the worker picks one
            TitanJob("client", self.script("ping_client.py"), args="api", parents=["api"]),
        ])
        api_id, client_id = f"{dag_id}.api", f"{dag_id}.client"
        view = self.client.wait(client_id, timeout=60)
        logs = self.client.fetch_logs(client_id)
        self.assertEqual(view["state"], "succeeded", logs)
        self.assertRegex(logs, r"answer: pong \d+")

        service = self.ready_service(api_id)
        self.assertEqual(service["name"], "api")
        self.assertEqual(service["state"], "running")
        self.assertIsInstance(service["port"], int)
        self.assertEqual(service["host"], "127.0.0.1")
        self.assertIn(f"url http://127.0.0.1:{service['port']} port {service['port']}", logs)
        self.assertEqual(_answer(service["port"]), f"pong {service['pid']}")
        self.assertEqual(self.client.get_job_status(api_id), "RUNNING")
        # A ready service counts as done: its DAG is finished while it keeps running.
        self.assertEqual(self.client.wait_dag(dag_id, timeout=30)["dag"]["state"], "succeeded")

        self.assert_stopped(api_id, "api", service["port"])  # the bare key, as for jobs

    def test_pipeline_with_type_service(self):
        port = _free_port()
        pipeline = os.path.join(self.dir, "services.yaml")
        with open(pipeline, "w") as f:
            f.write(textwrap.dedent(f"""\
                name: services
                jobs:
                  - id: auto-api
                    type: service
                    file: pong_server.py
                    port: auto
                  - id: fixed-api
                    type: service
                    file: pong_server.py
                    port: {port}
                  - id: client
                    file: ping_client.py
                    args: [auto-api]
                    depends_on: [auto-api, fixed-api]
            """))
        dag_id = self.client.submit_yaml(pipeline, wait=True, timeout=60)
        self.assertTrue(dag_id)
        logs = self.client.fetch_logs(f"{dag_id}.client")
        self.assertEqual(self.client.get_job_status(f"{dag_id}.client"), "COMPLETED", logs)
        self.assertRegex(logs, r"answer: pong \d+")
        fixed = self.ready_service(f"{dag_id}.fixed-api")
        self.assertEqual(fixed["port"], port)
        auto = self.ready_service(f"{dag_id}.auto-api")
        self.assertNotEqual(auto["port"], port)
        self.assert_stopped(f"{dag_id}.fixed-api", f"{dag_id}/fixed-api", port)
        self.assert_stopped(f"{dag_id}.auto-api", f"DAG-{dag_id}.auto-api", auto["port"])

    def test_deploy_script_restart_and_stop(self):
        port = _free_port()
        service_id = self.client.deploy_script(self.script("pong_server.py"), port=port)
        self.assertRegex(service_id, r"\.pong_server$")
        first = self.ready_service(service_id)
        self.assertEqual(first["port"], port)
        self.assertEqual(_answer(port), f"pong {first['pid']}")

        attempt = self.client.status(service_id)["attempt"]
        self.client.restart_service(service_id)
        until("the restarted service to answer from a new process",
              lambda: (lambda s: s is not None and s["ready"] and s["pid"] != first["pid"])(self.service(service_id)),
              timeout=30)
        self.assertGreater(self.client.status(service_id)["attempt"], attempt)
        until("the new process to answer", lambda: _answer(port) == f"pong {self.service(service_id)['pid']}", timeout=15)

        self.assert_stopped(service_id, "DAG-pong_server", port)

    def test_redeploy_replaces_each_replica_only_once_its_successor_is_ready(self):
        steps = []
        first = self.client.redeploy("web", self.script("pong_server.py"), replicas=2, on_step=steps.append)
        self.assertEqual(first["replaced"], [], "nothing ran yet: a first redeploy just deploys")
        self.assertEqual(len(first["serviceIds"]), 2)
        before = {s["id"]: s for s in self.client.list_services() if s["name"].startswith("web-")}
        self.assertEqual(sorted(s["name"] for s in before.values()), ["web-1", "web-2"])
        self.assertTrue(all(s["ready"] for s in before.values()))

        # At each step, what the master lists: an old replica must still run when its successor is ready.
        seen = []
        second = self.client.redeploy("web", self.script("pong_server.py"),
                                      on_step=lambda m: seen.append((m, [(x["id"], x["name"], x["ready"]) for x in self.client.list_services()])))
        self.assertEqual(second["replaced"], first["serviceIds"])
        self.assertEqual(len(second["serviceIds"]), 2, "as many replicas as ran before")
        self.assertTrue(set(second["serviceIds"]).isdisjoint(first["serviceIds"]))
        stops = [(m, listed) for m, listed in seen if " is ready; stopping " in m]
        self.assertEqual(len(stops), 2, [m for m, _ in seen])
        for (message, listed), new_id, old_id in zip(stops, second["serviceIds"], first["serviceIds"]):
            ids = {i: ready for i, _, ready in listed}
            self.assertTrue(ids.get(new_id), f"{message}: the successor {new_id} is listed ready")
            self.assertIn(old_id, ids, f"{message}: the old replica {old_id} still runs until then")
        after = {s["id"]: s for s in self.client.list_services() if s["name"].startswith("web-")}
        self.assertEqual(sorted(after), sorted(second["serviceIds"]))
        for service in after.values():
            until(f"{service['name']} to answer", lambda s=service: _answer(s["port"]) == f"pong {s['pid']}", timeout=15)
        for old_id in first["serviceIds"]:
            self.assertEqual(self.client.status(old_id)["state"], "stopped")

        with self.assertRaises(TitanError) as caught:
            self.client.redeploy("web", self.script("pong_server.py"), port=_free_port(), replicas=2)
        self.assertEqual(caught.exception.code, "E_INVALID_REQUEST")

    def test_service_calls_on_a_plain_job_are_refused(self):
        job_id = self.client.submit_job(TitanJob("plain", command="sleep 30"))
        try:
            until("the plain job to run", lambda: self.client.status(job_id)["state"] == "running")
            for call in (self.client.stop_service, self.client.restart_service):
                with self.assertRaises(TitanError) as caught:
                    call(job_id)
                self.assertEqual(caught.exception.code, "E_UNKNOWN_JOB")
            self.assertNotIn(job_id, [s["id"] for s in self.client.list_services()])
        finally:
            self.client.cancel(job_id)
        with self.assertRaises(FileNotFoundError):
            self.client.deploy_script(os.path.join(self.dir, "missing.py"))


if __name__ == "__main__":
    unittest.main()
