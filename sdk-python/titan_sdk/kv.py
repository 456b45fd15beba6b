"""The master's key-value store and keyed artifacts (opcodes 48-55), as TitanClient methods."""

import base64
import os

from .errors import E_INVALID_REQUEST, E_UNKNOWN_ARTIFACT, TitanError
from .wire import Op


def _ttl(body, ttl_seconds):
    if ttl_seconds is not None:
        body["ttlSeconds"] = ttl_seconds
    return body


class KvMixin:
    """Needs ``_call(opcode, body, ...)`` and ``upload_bytes(data)`` from the class it is mixed into."""

    # -- strings and sets --------------------------------------------------------------------

    def store_put(self, key, value, ttl_seconds=None):
        """Sets key to str(value), replacing what was there (and its TTL); True. A key holding a set is refused (WRONGTYPE)."""
        self._call(Op.KV_PUT, _ttl({"key": key, "value": str(value)}, ttl_seconds))
        return True

    def store_get(self, key):
        """The string under key, or None when it is absent or expired. A set is refused (WRONGTYPE): use store_smembers."""
        return self._call(Op.KV_GET, {"key": key}).get("value")

    def store_delete(self, key):
        """Removes a key (string or set); True when it existed."""
        return bool(self._call(Op.KV_DELETE, {"key": key}).get("deleted"))

    def store_sadd(self, key, member, ttl_seconds=None):
        """Adds one member (or a list of members) to a set; returns how many were new (1 or 0 for one member)."""
        members = [str(m) for m in member] if isinstance(member, (list, tuple, set, frozenset)) else [str(member)]
        if not members:
            return 0
        body = _ttl({"key": key, "members": members}, ttl_seconds)
        return int(self._call(Op.KV_SADD, body, idempotent=False).get("added", 0))

    def store_smembers(self, key):
        """The members of a set in the order they were first added; [] when absent or expired."""
        return list(self._call(Op.KV_SMEMBERS, {"key": key}).get("members") or [])

    # -- artifacts published under a key -----------------------------------------------------

    def publish_artifact(self, key, path_or_bytes, job_id=None):
        """Uploads a file (by path) or bytes and publishes them under key; returns {key, hash, size, publishedAt, jobId}.

        Inside a job, job_id defaults to $TITAN_JOB_ID (shown by `titan artifact ls`).
        """
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(path_or_bytes)
        else:
            path = os.fspath(path_or_bytes)
            if not os.path.isfile(path):
                raise TitanError(E_INVALID_REQUEST, f"cannot publish {path}: no such file")
            with open(path, "rb") as f:
                data = f.read()
        body = {"key": key, "hash": self.upload_bytes(data)}
        job_id = job_id if job_id is not None else os.environ.get("TITAN_JOB_ID")
        if job_id:
            body["jobId"] = job_id
        return self._call(Op.ARTIFACT_PUBLISH, body)

    def fetch_artifact(self, key, save_path=None):
        """The artifact published under key: {key, hash, size, publishedAt, jobId, data: bytes}.

        With save_path the bytes are also written there. Raises TitanError E_UNKNOWN_ARTIFACT when
        nothing is published under key.
        """
        reply = self._call(Op.ARTIFACT_FETCH, {"key": key})
        reply["data"] = base64.b64decode(reply.get("data") or "")
        if save_path is not None:
            with open(save_path, "wb") as f:
                f.write(reply["data"])
        return reply

    def get_artifact(self, key, save_path=None):
        """The bytes published under key, or None when there are none (as the original SDK: no exception).

        With save_path the bytes are written there instead and the result is True, or False when
        nothing is published under key.
        """
        try:
            data = self.fetch_artifact(key)["data"]
        except TitanError as err:
            if err.code != E_UNKNOWN_ARTIFACT:
                raise
            return None if save_path is None else False
        if save_path is None:
            return data
        with open(save_path, "wb") as f:
            f.write(data)
        return True

    def list_artifacts(self, prefix="", limit=100):
        """Published artifacts whose key starts with prefix, in key order (without their bytes)."""
        return list(self._call(Op.ARTIFACT_LIST, {"prefix": prefix, "limit": limit}).get("artifacts") or [])

    def download(self, artifact_hash):
        """The bytes stored under a content hash (as returned by upload_file)."""
        return base64.b64decode(self._call(Op.ARTIFACT_GET, {"hash": artifact_hash}).get("data") or "")
