"""Frames, status names, TitanJob translation and bundles (no cluster needed)."""

import io
import json
import os
import tarfile
import tempfile
import unittest

import titan_test_support  # noqa: F401  (puts the SDK on sys.path)

from titan_sdk import TitanError, TitanJob, status_name
from titan_sdk.bundle import bundle_folder
from titan_sdk.wire import END, ERROR, JSON, RESPONSE, STREAM, decode_envelope, decode_header, encode_frame, error_from_body


class Frames(unittest.TestCase):
    def test_a_request_frame(self):
        frame = encode_frame(31, 0, 7, {"jobId": "ab"})
        version, opcode, flags, length = decode_header(frame[:8])
        self.assertEqual((version, opcode, flags, frame[3]), (2, 31, JSON, 0))
        self.assertEqual(length, len(frame) - 8)
        self.assertEqual(json.loads(frame[8:]), {"rid": 7, "body": {"jobId": "ab"}})
        self.assertEqual(decode_envelope(31, flags, frame[8:]), (7, {"jobId": "ab"}))

    def test_unicode_and_limits(self):
        frame = encode_frame(49, 0, 1, {"key": "k", "value": "é✓"})
        self.assertEqual(decode_header(frame[:8])[3], len(json.dumps({"rid": 1, "body": {"key": "k", "value": "é✓"}}, ensure_ascii=False, separators=(",", ":")).encode()))
        with self.assertRaises(TitanError) as caught:
            encode_frame(37, 0, 1, {"data": "x" * 100}, max_frame=50)
        self.assertEqual(caught.exception.code, "E_FRAME_TOO_LARGE")
        with self.assertRaises(TitanError) as caught:
            encode_frame(37, 0, 1, {"data": b"raw bytes"})
        self.assertEqual(caught.exception.code, "E_BAD_BODY")

    def test_answers(self):
        self.assertEqual(RESPONSE | ERROR | STREAM | END, 0x0F)
        err = error_from_body({"code": "E_UNKNOWN_JOB", "message": "no job x"})
        self.assertEqual((err.code, err.message, str(err)), ("E_UNKNOWN_JOB", "no job x", "E_UNKNOWN_JOB: no job x"))
        with self.assertRaises(TitanError):
            decode_envelope(31, RESPONSE, b"\x81\xa3rid\x01")  # MessagePack: this client speaks JSON only


class StatusNames(unittest.TestCase):
    def test_every_titan_state_maps_to_an_original_status(self):
        expected = {
            "pending": "PENDING", "queued": "PENDING", "assigned": "RUNNING", "running": "RUNNING",
            "succeeded": "COMPLETED", "failed": "FAILED", "dead": "DEAD", "cancelled": "CANCELLED", "skipped": "CANCELLED",
            "stopped": "CANCELLED",
        }
        for state, name in expected.items():
            self.assertEqual(status_name(state), name)


class Jobs(unittest.TestCase):
    def setUp(self):
        fd, self.script = tempfile.mkstemp(suffix=".py")
        os.close(fd)

    def tearDown(self):
        os.unlink(self.script)

    def test_original_fields_become_a_dag_job(self):
        job = TitanJob("train", self.script, args="--epochs 3 'two words'", parents=["prep"], priority=5, delay=2,
                       affinity=True, requirement="GPU,HIGH_MEM", hitl_message="Go?", max_wait_seconds=600)
        fields = job.dag_fields(["prep"])
        self.assertEqual(fields["args"], ["--epochs", "3", "two words"])
        self.assertEqual(fields["requirement"], ["GPU", "HIGH_MEM"])
        self.assertEqual(fields["hitl"], {"message": "Go?", "maxWaitSeconds": 600})
        self.assertNotIn("approval", fields, "hitl_message gates the dependants, not the job")
        self.assertEqual((fields["priority"], fields["delaySeconds"], fields["affinity"]), (5, 2, True))
        self.assertEqual(TitanJob("j", self.script, args=["a b", 3]).dag_fields([])["args"], ["a b", "3"])

    def test_resources_and_driver_pass_through_to_the_master(self):
        fields = TitanJob("big", self.script, resources={"cpu": 0.5, "memory": "256M", "gpu": None}, driver="sandbox").dag_fields([])
        self.assertEqual(fields["resources"], {"cpu": 0.5, "memory": "256M"})
        self.assertEqual(fields["driver"], "sandbox")
        self.assertNotIn("resources", TitanJob("small", self.script).dag_fields([]))

    def test_run_at_becomes_epoch_milliseconds_from_a_datetime_seconds_or_iso_text(self):
        from datetime import datetime, timezone
        when = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
        expected = 1796112000000
        for value in (when, when.timestamp(), "2026-12-01T08:00:00Z", "2026-12-01T09:00+01:00"):
            self.assertEqual(TitanJob("j", self.script, run_at=value).dag_fields([])["runAt"], expected)
        self.assertNotIn("runAt", TitanJob("j", self.script).dag_fields([]))
        with self.assertRaisesRegex(TitanError, "without a time zone"):
            TitanJob("j", self.script, run_at=datetime(2026, 12, 1, 8)).dag_fields([])
        with self.assertRaisesRegex(TitanError, "add its zone"):
            TitanJob("j", self.script, run_at="2026-12-01T08:00").dag_fields([])

    def test_service_job_types_become_service_jobs(self):
        for job_type in ("DEPLOY_PAYLOAD", "START_ARCHIVE_SERVICE"):
            for port, expected in ((0, None), (None, None), ("auto", None), (8080, 8080), ("9000", 9000)):
                fields = TitanJob("svc", self.script, job_type=job_type, port=port).dag_fields([])
                self.assertEqual(fields["service"], {"port": expected})
        self.assertTrue(TitanJob("svc", "proj.zip/serve.py", job_type="START_ARCHIVE_SERVICE").archive)
        self.assertNotIn("service", TitanJob("run", self.script, port=8080).dag_fields([]))
        for bad in (70000, -1, "http", True, 1.5):
            with self.assertRaises(TitanError) as caught:
                TitanJob("svc", self.script, job_type="DEPLOY_PAYLOAD", port=bad).dag_fields([])
            self.assertEqual(caught.exception.code, "E_INVALID_REQUEST")

    def test_bad_ids_and_types_are_refused(self):
        with self.assertRaises(TitanError):
            TitanJob("bad id!", self.script).dag_fields([])
        with self.assertRaises(TitanError):
            TitanJob("x", self.script, job_type="RUN_FOREVER").dag_fields([])
        with self.assertRaises(TitanError):
            TitanJob("neither")


class Bundles(unittest.TestCase):
    def test_folder_bundle_leaves_out_git_and_node_modules(self):
        with tempfile.TemporaryDirectory() as root:
            for rel in ("main.py", "pkg/mod.py", ".git/HEAD", "node_modules/x/index.js", "pkg/__pycache__/mod.pyc"):
                os.makedirs(os.path.dirname(os.path.join(root, rel)) or root, exist_ok=True)
                with open(os.path.join(root, rel), "w") as f:
                    f.write(rel)
            with tarfile.open(fileobj=io.BytesIO(bundle_folder(root)), mode="r:gz") as tar:
                names = sorted(tar.getnames())
                self.assertEqual(tar.extractfile("pkg/mod.py").read(), b"pkg/mod.py")
        self.assertEqual(names, ["main.py", "pkg", "pkg/mod.py"])


if __name__ == "__main__":
    unittest.main()
