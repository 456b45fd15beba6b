"""Identity, API tokens and the audit ledger against a real master: whoami, tokens, revocation, audit, verify."""

import unittest

from titan_test_support import Cluster

from titan_sdk import TitanError


class SecurityTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().start(workers=0)
        cls.admin = cls.cluster.client()  # the cluster token: an admin

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def refused(self, call, *args, **kwargs):
        with self.assertRaises(TitanError) as caught:
            call(*args, **kwargs)
        return caught.exception

    def test_the_cluster_token_is_an_admin(self):
        me = self.admin.whoami()
        self.assertEqual((me["kind"], me["name"], me["role"], me["namespace"]), ("cluster", "cluster", "admin", None))
        self.assertIn("admin", me["permissions"])

    def test_a_viewer_token_reads_and_is_refused_token_management(self):
        created = self.admin.create_token("py-viewer", "viewer")
        self.assertRegex(created["token"], r"^titan_[a-f0-9]{12}_\S{43}$")
        self.assertEqual((created["info"]["name"], created["info"]["role"]), ("py-viewer", "viewer"))
        viewer = self.cluster.client(token=created["token"])
        me = viewer.whoami()
        self.assertEqual((me["kind"], me["name"], me["role"], me["permissions"]), ("token", "py-viewer", "viewer", ["read"]))
        self.assertIn("workers", viewer.stats())

        err = self.refused(viewer.create_token, "escalate", "admin")
        self.assertEqual(err.code, "E_FORBIDDEN")
        self.assertIn("role viewer may not admin", err.message)
        self.assertEqual(self.refused(viewer.audit).code, "E_FORBIDDEN")
        self.assertEqual(self.refused(viewer.store_put, "k", "v").code, "E_FORBIDDEN")
        self.assertNotIn("escalate", [t["name"] for t in self.admin.list_tokens()])

        listed = next(t for t in self.admin.list_tokens() if t["name"] == "py-viewer")
        self.assertEqual(listed["id"], created["info"]["id"])
        self.assertNotIn("token", listed, "the secret is never listed")
        self.assertNotIn(created["token"].split("_", 2)[2], repr(self.admin.list_tokens()))  # the secret may hold "_" itself

    def test_a_token_with_a_time_to_live_says_when_it_expires(self):
        created = self.admin.create_token("py-brief", "viewer", ttl_seconds=3600)
        info = created["info"]
        self.assertEqual(info["expiresAt"] - info["createdAt"], 3_600_000)
        listed = [t for t in self.admin.list_tokens() if t["name"] == "py-brief"]
        self.assertEqual(listed[0]["expiresAt"], info["expiresAt"])
        self.assertEqual(self.cluster.client(token=created["token"]).whoami()["name"], "py-brief")

    def test_a_namespaced_operator_token(self):
        token = self.admin.create_token("py-team", "operator", namespace="team-py")["token"]
        me = self.cluster.client(token=token).whoami()
        self.assertEqual((me["role"], me["namespace"]), ("operator", "team-py"))
        self.assertIn("submit", me["permissions"])
        self.assertEqual(self.refused(self.admin.create_token, "x", "root").code, "E_INVALID_REQUEST")

    def test_revoking_a_token_takes_effect_on_its_next_request(self):
        token = self.admin.create_token("py-revoked", "operator")["token"]
        victim = self.cluster.client(token=token)
        self.assertEqual(victim.whoami()["role"], "operator")
        revoked = self.admin.revoke_token("py-revoked")
        self.assertEqual(revoked["name"], "py-revoked")
        self.assertIsNotNone(revoked["revokedAt"])
        self.assertEqual(self.refused(victim.whoami).code, "E_UNAUTHENTICATED")
        self.assertEqual(self.refused(self.cluster.client(token=token).ping).code, "E_UNAUTHENTICATED")
        self.assertNotIn("py-revoked", [t["name"] for t in self.admin.list_tokens()])
        everything = self.admin.list_tokens(include_revoked=True)
        self.assertIsNotNone(next(t for t in everything if t["name"] == "py-revoked")["revokedAt"])
        self.assertEqual(self.refused(self.admin.revoke_token, "py-revoked").code, "E_INVALID_REQUEST")

    def test_the_audit_ledger_lists_token_creation_and_verifies(self):
        self.admin.create_token("py-audited", "viewer")
        rows = self.admin.audit(limit=200)
        self.assertEqual([r["seq"] for r in rows], sorted((r["seq"] for r in rows), reverse=True), "newest first")
        create = next(r for r in rows if r["action"] == "TOKEN_CREATE" and "py-audited" in r["target"])
        self.assertEqual((create["who"], create["role"], create["result"]), ("cluster", "admin", "ok"))
        self.assertRegex(create["source"], r"^127\.0\.0\.1:\d+$")
        self.assertRegex(create["hash"], r"^[a-f0-9]{64}$")
        self.assertEqual(len(self.admin.audit(limit=2)), 2)
        verdict = self.admin.verify_audit()
        self.assertTrue(verdict["ok"], verdict)
        self.assertGreaterEqual(verdict["rows"], len(rows))


if __name__ == "__main__":
    unittest.main()
