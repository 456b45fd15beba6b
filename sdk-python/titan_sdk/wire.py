"""TITAN_PROTO v2 for a JSON client: frames, envelopes, and one multiplexed connection.

A frame is an 8-byte header ``version(u8)=2 | opcode(u8) | flags(u8) | spare(u8)=0 |
length(u32 BE)`` and a body. With the JSON flag the body is UTF-8 JSON ``{"rid": n, "body": {...}}``
and the master answers in JSON too, with the same rid: RESPONSE for an answer, RESPONSE|ERROR with
``{code, message}`` for a refusal, STREAM chunks closed by STREAM|END for a stream. A requester
cancels a stream by sending END alone with the stream's rid. Connection-level errors come as
opcode 0 with ERROR (rid 0), after which the master closes.
"""

import json
import queue
import socket
import struct
import threading
import time

from .errors import (
    E_BAD_BODY, E_BAD_FRAME, E_CONNECTION_CLOSED, E_FRAME_TOO_LARGE, E_INVALID_REQUEST, E_TIMEOUT, TitanError,
)
from .tls_io import LockedTls

VERSION = 2
HEADER = struct.Struct(">BBBBI")
HEADER_SIZE = HEADER.size
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
OPCODE_ERROR = 0

RESPONSE = 0x01
ERROR = 0x02
STREAM = 0x04
END = 0x08
JSON = 0x10
IGNORABLE = 0x20


class Op:
    """Opcodes a client uses (src/protocol/opcodes.ts); numbers are pinned."""

    AUTH = 1
    PING = 2
    JOB_SUBMIT = 30
    JOB_STATUS = 31
    JOB_LIST = 32
    JOB_CANCEL = 33
    JOB_WAIT = 34
    JOB_LOGS = 35
    CLUSTER_STATS = 36
    ARTIFACT_PUT = 37
    ARTIFACT_GET = 38
    JOB_SUBMIT_BATCH = 39
    DAG_SUBMIT = 40
    DAG_STATUS = 41
    DAG_LIST = 42
    DAG_CANCEL = 43
    DAG_WAIT = 44
    DAG_ADD_JOBS = 45
    JOB_RETRY = 46
    JOB_HISTORY = 47
    KV_GET = 48
    KV_PUT = 49
    KV_DELETE = 50
    KV_SADD = 51
    KV_SMEMBERS = 52
    ARTIFACT_PUBLISH = 53
    ARTIFACT_FETCH = 54
    ARTIFACT_LIST = 55
    JOB_APPROVE = 56
    JOB_REJECT = 57
    SERVICE_LIST = 60
    SERVICE_STOP = 61
    SERVICE_RESTART = 62
    WHOAMI = 74
    TOKEN_CREATE = 75
    TOKEN_LIST = 76
    TOKEN_REVOKE = 77
    AUDIT_LIST = 78
    AUDIT_VERIFY = 79
    PIPELINE_SUBMIT = 82


def _not_json(value):
    raise TypeError(f"{type(value).__name__} is not JSON data; send strings, numbers, booleans, None, lists and dicts")


def encode_frame(opcode, flags, rid, body, max_frame=DEFAULT_MAX_FRAME):
    """One frame: the header and the JSON envelope ``{"rid", "body"}`` (the JSON flag is set for you)."""
    try:
        payload = json.dumps({"rid": rid, "body": body}, ensure_ascii=False, separators=(",", ":"), default=_not_json)
    except (TypeError, ValueError) as err:
        raise TitanError(E_BAD_BODY, f"message body cannot be encoded as JSON: {err}") from None
    data = payload.encode("utf-8")
    if len(data) > max_frame:
        raise TitanError(
            E_FRAME_TOO_LARGE,
            f"request body (opcode {opcode}) encodes to {len(data)} bytes, over the {max_frame}-byte frame maximum; "
            "upload big files in parts or raise the master's --max-frame (bytes travel as base64, 4/3 of their size)",
        )
    return HEADER.pack(VERSION, opcode, flags | JSON, 0, len(data)) + data


def decode_header(header):
    """(version, opcode, flags, length) of an 8-byte header."""
    version, opcode, flags, _spare, length = HEADER.unpack(header)
    return version, opcode, flags, length


def decode_envelope(opcode, flags, data):
    """(rid, body) of a JSON frame body; TitanError(E_BAD_BODY) when it is not an envelope."""
    if not flags & JSON:
        raise TitanError(E_BAD_BODY, f"frame (opcode {opcode}) is MessagePack; this client speaks JSON only (flag 0x10)")
    try:
        env = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise TitanError(E_BAD_BODY, f"frame body (opcode {opcode}) is not valid UTF-8 JSON: {err}") from None
    if not isinstance(env, dict) or not isinstance(env.get("rid"), int) or env["rid"] < 0:
        raise TitanError(E_BAD_BODY, f"frame body (opcode {opcode}) is not an envelope {{rid, body}}")
    return env["rid"], env.get("body")


def error_from_body(body):
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        leader = body.get("leader")
        return TitanError(body["code"], str(body.get("message", "")), leader if isinstance(leader, str) else None)
    return TitanError(E_BAD_BODY, f"error answer without code and message: {body!r}")


_CLOSED = object()


def _lost(failure):
    """A fresh error for a call that failed because the connection is gone (flagged connection_lost)."""
    err = TitanError(failure.code, failure.message)
    err.connection_lost = True
    return err


class Connection:
    """One authenticated TCP connection carrying many requests and streams at once, from any thread.

    A reader thread routes each answer to the caller waiting on its rid; sends are serialised by a
    lock. Once the connection is lost every waiting call fails with E_CONNECTION_CLOSED and the
    object stays closed: open a new one (TitanClient does that for you).
    """

    def __init__(self, host, port, token, *, name=None, connect_timeout=5.0, request_timeout=30.0, max_frame=DEFAULT_MAX_FRAME, ssl_context=None):
        self.host = host
        self.port = port
        self.request_timeout = request_timeout
        self.max_frame = max_frame
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending = {}
        self._next_rid = 1
        self._closed = False
        self._error = None
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # TLS (docs/SECURITY.md): the handshake runs within the connect timeout.
            self._sock = ssl_context.wrap_socket(sock, server_hostname=host) if ssl_context is not None else sock
        except OSError as err:
            hint = "is the master running with --tls, and signed by this CA?" if ssl_context is not None else "is `titan master` running? set TITAN_HOST/TITAN_PORT"
            raise TitanError(E_CONNECTION_CLOSED, f"could not reach the master at {host}:{port}: {err} ({hint})") from None
        self._sock.settimeout(None)
        self._io = LockedTls(self._sock) if ssl_context is not None else self._sock
        self._reader = threading.Thread(target=self._read_loop, name=f"titan-sdk-reader-{host}:{port}", daemon=True)
        self._reader.start()
        auth = {"token": token, "role": "client"}
        if name:
            auth["name"] = name[:200]
        try:
            self.auth_reply = self.request(Op.AUTH, auth, timeout=connect_timeout)
        except BaseException:
            self.close()
            raise

    @property
    def closed(self):
        return self._closed

    # -- requests ---------------------------------------------------------------------------

    def request(self, opcode, body, timeout=-1):
        """Sends a request and returns the answer's body. timeout: seconds, None = forever, -1 = the default."""
        rid, answers = self._begin(opcode, body)
        try:
            flags, payload = self._take(answers, opcode, self.request_timeout if timeout == -1 else timeout)
        finally:
            self._forget(rid)
        if flags is _CLOSED:
            raise _lost(payload)
        if flags & ERROR:
            raise error_from_body(payload)
        return payload

    def stream(self, opcode, body, chunk_timeout=None):
        """Yields the body of each chunk of a streamed answer; closing the generator early cancels the stream."""
        rid, answers = self._begin(opcode, body)
        finished = False
        try:
            while True:
                flags, payload = self._take(answers, opcode, chunk_timeout)
                if flags is _CLOSED:
                    finished = True
                    raise _lost(payload)
                if flags & ERROR:
                    finished = True
                    raise error_from_body(payload)
                if flags & STREAM and not flags & END:
                    yield payload
                    continue
                finished = True
                return
        finally:
            self._forget(rid)
            if not finished:
                self._cancel(opcode, rid)

    def close(self):
        """Closes the socket; calls still waiting fail with E_CONNECTION_CLOSED. Idempotent."""
        self._teardown(TitanError(E_CONNECTION_CLOSED, f"connection to {self.host}:{self.port} was closed locally"))
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=2)

    def _begin(self, opcode, body):
        with self._lock:
            if self._closed:
                raise _lost(self._error)
            rid = self._next_rid
            self._next_rid += 1
            answers = queue.Queue()
            self._pending[rid] = answers
        try:
            frame = encode_frame(opcode, 0, rid, body, self.max_frame)
            self._send(frame)
        except BaseException:
            self._forget(rid)
            raise
        return rid, answers

    def _send(self, frame):
        try:
            with self._send_lock:
                self._io.sendall(frame)
        except OSError as err:
            failure = TitanError(E_CONNECTION_CLOSED, f"connection to {self.host}:{self.port} failed while sending: {err}")
            self._teardown(failure)
            raise _lost(self._error) from None

    def _cancel(self, opcode, rid):
        if self._closed:
            return
        try:
            self._send(encode_frame(opcode, END, rid, None, self.max_frame))
        except TitanError:
            pass

    def _take(self, answers, opcode, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if wait <= 0:
                raise TitanError(
                    E_TIMEOUT,
                    f"request (opcode {opcode}) to {self.host}:{self.port} got no answer within {timeout} s; "
                    "the master may be overloaded: retry, or pass a larger timeout",
                )
            try:
                return answers.get(timeout=wait)
            except queue.Empty:
                continue

    def _forget(self, rid):
        with self._lock:
            self._pending.pop(rid, None)

    # -- the reader thread -------------------------------------------------------------------

    def _read_loop(self):
        failure = None
        try:
            while failure is None:
                header = self._recv_exact(HEADER_SIZE)
                if header is None:
                    failure = TitanError(E_CONNECTION_CLOSED, f"the master at {self.host}:{self.port} closed the connection")
                    break
                version, opcode, flags, length = decode_header(header)
                if version != VERSION:
                    failure = TitanError(E_BAD_FRAME, f"the master sent a version {version} frame; this SDK speaks TITAN_PROTO v{VERSION}")
                    break
                if length > self.max_frame:
                    failure = TitanError(E_FRAME_TOO_LARGE, f"the master sent a {length}-byte frame, over this client's {self.max_frame}-byte maximum")
                    break
                data = self._recv_exact(length) if length else b""
                if data is None:
                    failure = TitanError(E_CONNECTION_CLOSED, f"the master at {self.host}:{self.port} closed the connection mid-frame")
                    break
                failure = self._dispatch(opcode, flags, data)
        except OSError as err:
            failure = TitanError(E_CONNECTION_CLOSED, f"connection to {self.host}:{self.port} failed: {err}")
        except TitanError as err:
            failure = err
        except Exception as err:  # never let the reader die silently: waiting callers must learn of it
            failure = TitanError(E_CONNECTION_CLOSED, f"reading from {self.host}:{self.port} failed: {err!r}")
        self._teardown(failure)
        try:
            self._sock.close()
        except OSError:
            pass

    def _recv_exact(self, n):
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            count = self._io.recv_into(view[got:], n - got)
            if count == 0:
                return None
            got += count
        return bytes(buf)

    def _dispatch(self, opcode, flags, data):
        """Routes one frame; returns a TitanError when the connection must end."""
        rid, body = decode_envelope(opcode, flags, data)
        if flags & (RESPONSE | ERROR | STREAM):
            if rid == 0:
                return error_from_body(body) if flags & ERROR else None
            final = bool(flags & ERROR) or not (flags & STREAM) or bool(flags & END)
            with self._lock:
                answers = self._pending.pop(rid, None) if final else self._pending.get(rid)
            if answers is not None:
                answers.put((flags, body))
            return None
        if flags & END or rid == 0:
            return None  # a cancel of something we do not serve, or a one-way message
        if opcode == Op.PING:
            self._send(encode_frame(opcode, RESPONSE, rid, {"pong": True, "at": int(time.time() * 1000)}, self.max_frame))
        else:
            answer = {"code": E_INVALID_REQUEST, "message": f"opcode {opcode} is not served by the Python SDK"}
            self._send(encode_frame(opcode, RESPONSE | ERROR, rid, answer, self.max_frame))
        return None

    def _teardown(self, failure):
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._error = failure
            pending = list(self._pending.values())
            self._pending.clear()
        for answers in pending:
            answers.put((_CLOSED, failure))
