"""The SDK over TLS under concurrency: fresh mutual-TLS connections from several threads, and one
connection shared by many threads.

A TLS connection's state may not be entered by two threads at once. The SDK's reader thread reads
while the caller's thread sends, and under TLS 1.3 the master's session tickets arrive just as the
first request (AUTH) goes out: without serialisation about one connection in a hundred lost its
AUTH answer (E_TIMEOUT after 5 s) or failed with "unexpected message".
"""

import os
import threading
import unittest

from titan_test_support import Cluster

THREADS = 6
CONNECTIONS_PER_THREAD = 60
REQUESTS_PER_THREAD = 150


class TlsConcurrencyTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster()
        try:
            certs = cls.cluster.make_certs()
            cls.file = staticmethod(lambda name: os.path.join(certs, name))
            cls.cluster.start_master(["--mtls", "--ca", cls.file("ca.crt"), "--cert", cls.file("master.crt"),
                                      "--key", cls.file("master.key")])
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def connect(self, **options):
        return self.cluster.client(tls_ca=self.file("ca.crt"), tls_cert=self.file("client.crt"),
                                   tls_key=self.file("client.key"), **options)

    def failures_of(self, work):
        failures = []

        def guarded(index):
            try:
                work(index)
            except Exception as err:  # collected: a thread's exception would otherwise only be printed
                failures.append(f"thread {index}: {err!r}")

        threads = [threading.Thread(target=guarded, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse(any(t.is_alive() for t in threads), "a thread is still waiting for an answer")
        return failures

    def test_every_fresh_connection_is_answered_at_once(self):
        def work(index):
            for n in range(CONNECTIONS_PER_THREAD):
                client = self.connect(connect_timeout=5.0)
                client.store_put(f"fresh-{index}-{n}", "answered")
                client.close()

        self.assertEqual(self.failures_of(work), [])

    def test_threads_sharing_one_connection_each_get_their_own_answers(self):
        client = self.connect(timeout=20.0)

        def work(index):
            for n in range(REQUESTS_PER_THREAD):
                client.store_put(f"shared-{index}-{n}", f"value {index} {n}")
                got = client.store_get(f"shared-{index}-{n}")
                if got != f"value {index} {n}":
                    raise AssertionError(f"key shared-{index}-{n} read back {got!r}")

        self.assertEqual(self.failures_of(work), [])


if __name__ == "__main__":
    unittest.main()
