"""KV store, keyed artifacts, uploads and authentication against a real master (no worker needed)."""

import os
import socket
import tempfile
import unittest
from unittest import mock

from titan_test_support import TOKEN, Cluster

from titan_sdk import TitanClient, TitanError


class StoreTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().start(workers=0)
        cls.client = cls.cluster.client()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def test_put_get_delete(self):
        self.assertTrue(self.client.store_put("greeting", "hello"))
        self.assertEqual(self.client.store_get("greeting"), "hello")
        self.client.store_put("greeting", 42)  # the original SDK sent str(value)
        self.assertEqual(self.client.store_get("greeting"), "42")
        self.assertIsNone(self.client.store_get("never-set"))
        self.assertTrue(self.client.store_delete("greeting"))
        self.assertIsNone(self.client.store_get("greeting"))
        self.assertFalse(self.client.store_delete("greeting"))
        self.client.store_put("unicode/ключ", "значение ✓")
        self.assertEqual(self.client.store_get("unicode/ключ"), "значение ✓")

    def test_sets(self):
        self.assertEqual(self.client.store_sadd("shards", "s1"), 1)
        self.assertEqual(self.client.store_sadd("shards", "s1"), 0)
        self.assertEqual(self.client.store_sadd("shards", ["s2", "s3", "s1"]), 2)
        self.assertEqual(self.client.store_smembers("shards"), ["s1", "s2", "s3"])
        self.assertEqual(self.client.store_smembers("no-such-set"), [])
        with self.assertRaises(TitanError) as caught:
            self.client.store_get("shards")
        self.assertIn("WRONGTYPE", caught.exception.message)

    def test_ttl(self):
        self.client.store_put("short-lived", "x", ttl_seconds=0.2)
        self.assertEqual(self.client.store_get("short-lived"), "x")
        import time
        time.sleep(0.4)
        self.assertIsNone(self.client.store_get("short-lived"))

    def test_publish_and_get_artifacts(self):
        blob = bytes(range(256)) * 4096  # 1 MiB of every byte value
        view = self.client.publish_artifact("models/latest", blob, job_id="trainer-1")
        self.assertEqual(view["key"], "models/latest")
        self.assertEqual(view["size"], len(blob))
        self.assertEqual(view["jobId"], "trainer-1")
        self.assertEqual(self.client.get_artifact("models/latest"), blob)
        fetched = self.client.fetch_artifact("models/latest")
        self.assertEqual(fetched["data"], blob)
        self.assertEqual(fetched["hash"], view["hash"])
        self.assertEqual(self.client.download(view["hash"]), blob)

        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "report.txt")
            with open(src, "w") as f:
                f.write("accuracy 0.93\n")
            self.client.publish_artifact("reports/today", src)
            dest = os.path.join(tmp, "copy.txt")
            self.assertTrue(self.client.get_artifact("reports/today", save_path=dest))
            with open(dest) as f:
                self.assertEqual(f.read(), "accuracy 0.93\n")
            self.assertFalse(self.client.get_artifact("reports/missing", save_path=os.path.join(tmp, "none")))
        self.assertIsNone(self.client.get_artifact("reports/missing"))
        with self.assertRaises(TitanError) as caught:
            self.client.fetch_artifact("reports/missing")
        self.assertEqual(caught.exception.code, "E_UNKNOWN_ARTIFACT")
        self.assertEqual([a["key"] for a in self.client.list_artifacts("reports/")], ["reports/today"])

    def test_upload_file_returns_its_hash(self):
        with tempfile.NamedTemporaryFile("wb", suffix=".bin", delete=False) as f:
            f.write(b"hello")
        try:
            digest = self.client.upload_file(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(digest, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")  # sha256("hello")
        with self.assertRaises(TitanError):
            self.client.upload_file(f.name)

    def test_bad_token_is_refused(self):
        client = self.cluster.client(token="not-the-token")
        with self.assertRaises(TitanError) as caught:
            client.stats()
        self.assertEqual(caught.exception.code, "E_UNAUTHENTICATED")

    def test_unreachable_master(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free_port = s.getsockname()[1]
        client = TitanClient("127.0.0.1", free_port, TOKEN, connect_timeout=2)
        with self.assertRaises(TitanError) as caught:
            client.stats()
        self.assertEqual(caught.exception.code, "E_CONNECTION_CLOSED")
        self.assertIn(f"127.0.0.1:{free_port}", caught.exception.message)

    def test_configuration_from_the_environment(self):
        with tempfile.TemporaryDirectory() as home:
            os.makedirs(os.path.join(home, "master"))
            with open(os.path.join(home, "master", "token"), "w") as f:
                f.write(TOKEN + "\n")
            env = {"TITAN_HOST": "127.0.0.1", "TITAN_PORT": str(self.cluster.port), "TITAN_HOME": home}
            with mock.patch.dict(os.environ, env):
                os.environ.pop("TITAN_TOKEN", None)
                os.environ.pop("TITAN_MASTER", None)
                client = TitanClient()
                try:
                    self.assertEqual((client.host, client.port), ("127.0.0.1", self.cluster.port))
                    self.assertIn("workers", client.stats())
                finally:
                    client.close()
            with mock.patch.dict(os.environ, {"TITAN_HOME": home}):
                for name in ("TITAN_HOST", "TITAN_PORT", "TITAN_TOKEN"):
                    os.environ.pop(name, None)
                os.environ["TITAN_MASTER"] = f"127.0.0.1:{self.cluster.port}"
                client = TitanClient()
                try:
                    self.assertEqual(client.port, self.cluster.port)
                    self.assertIn("jobs", client.stats())
                finally:
                    client.close()


if __name__ == "__main__":
    unittest.main()
