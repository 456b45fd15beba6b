"""Identity, API tokens and the audit ledger (opcodes 74-79, docs/SECURITY.md), as TitanClient methods.

Everything but ``whoami`` needs an admin: an admin API token or the cluster token. A refusal raises
TitanError with the master's code: ``E_FORBIDDEN`` (the role or namespace does not allow it; the
message names both), ``E_UNAUTHENTICATED`` (a wrong or revoked token), ``E_RATE_LIMITED``.
"""

from .errors import E_INVALID_REQUEST, TitanError
from .wire import Op

ROLES = ("admin", "operator", "viewer")


class SecurityMixin:
    """Needs ``_call(opcode, body, timeout=-1, idempotent=True)`` from the class it is mixed into."""

    def whoami(self):
        """Who this client's token makes it: ``{kind, name, role, namespace, permissions}``.

        kind is ``cluster`` (the cluster token), ``token`` (an API token) or ``cert``; permissions
        lists what the role may do (read, submit, cancel, approve, deploy, write, admin, worker)::

            me = client.whoami()
            if "submit" not in me["permissions"]:
                print(f"{me['name']} is a {me['role']}: read only")
        """
        return self._call(Op.WHOAMI, {})

    def create_token(self, name, role, namespace=None, ttl_seconds=None):
        """Creates an API token (admin); returns ``{token, info}``. The secret ``token`` is shown this once.

        role is ``admin``, ``operator`` (submit, cancel, approve, deploy, write) or ``viewer`` (read
        only); with namespace the token may only touch ids starting with ``<namespace>.``; with
        ttl_seconds it stops working that long after it is made.
        ``info`` is the token's view, as list_tokens shows it::

            ci = client.create_token("ci", "viewer")["token"]
            viewer = TitanClient(token=ci)
        """
        if role not in ROLES:
            raise TitanError(E_INVALID_REQUEST, f"role must be one of {', '.join(ROLES)}, not {role!r}")
        body = {"name": str(name), "role": role}
        if namespace is not None:
            body["namespace"] = str(namespace)
        if ttl_seconds is not None:
            body["ttlSeconds"] = int(ttl_seconds)
        return self._call(Op.TOKEN_CREATE, body, idempotent=False)

    def list_tokens(self, include_revoked=False):
        """The API tokens (admin), never their secrets: ``[{id, name, role, namespace, createdAt, revokedAt, lastUsedAt, expiresAt}]``.

        Times are epoch milliseconds (None when not revoked or never used). Revoked tokens are
        listed only with include_revoked::

            for t in client.list_tokens():
                print(t["name"], t["role"], t["namespace"] or "-")
        """
        return self._call(Op.TOKEN_LIST, {"all": bool(include_revoked)})["tokens"]

    def revoke_token(self, id_or_name):
        """Revokes a live token by id or name (admin); returns its view (``revokedAt`` set).

        It takes effect at once: connections using it are closed and its next request is refused
        with E_UNAUTHENTICATED::

            client.revoke_token("ci")
        """
        return self._call(Op.TOKEN_REVOKE, {"token": str(id_or_name)}, idempotent=False)["revoked"]

    def audit(self, limit=50):
        """The newest audit ledger rows first (admin): ``[{seq, at, who, role, action, target, source, result, hash}]``.

        who is a token's name, ``cluster``, ``legacy-v1`` (protocol v1 clients) or ``anonymous``
        (a refused authentication); action an opcode name (``JOB_SUBMIT``) or ``METHOD /route``::

            for row in client.audit(limit=20):
                print(row["seq"], row["who"], row["action"], row["target"], row["result"])
        """
        return self._call(Op.AUDIT_LIST, {"limit": int(limit)})["records"]

    def verify_audit(self):
        """Walks the ledger's hash chain (admin): ``{ok: True, rows, head}``, or ``{ok: False, rows, seq, problem}``.

        seq is the first bad row (None when the table as a whole was emptied or cut)::

            verdict = client.verify_audit()
            assert verdict["ok"], verdict.get("problem")
        """
        return self._call(Op.AUDIT_VERIFY, {})
