"""Finding the leading master among several (docs/HA.md, "Finding the leader")."""

import time

from .errors import E_CONNECTION_CLOSED, E_FENCED, E_NOT_LEADER, E_TIMEOUT, TitanError

#: A failover takes about one lease TTL (10 s by default) plus the election: a little more than that.
FAILOVER_TIMEOUT = 15.0
BACKOFF_MIN = 0.1
BACKOFF_MAX = 2.0
DEFAULT_PORT = 9090

#: Answers after which the next master may serve us: this one did nothing.
MOVE_ON = (E_CONNECTION_CLOSED, E_TIMEOUT, E_NOT_LEADER, E_FENCED)


def parse_masters(spec, default_host="127.0.0.1"):
    """``"a:9090,b:9090"`` or a list of such (or of (host, port)) → [(host, port), ...] in order."""
    items = [spec] if isinstance(spec, str) else list(spec)
    masters = []
    for item in items:
        if isinstance(item, tuple):
            masters.append((item[0], int(item[1])))
            continue
        for part in str(item).split(","):
            part = part.strip()
            if part:
                masters.append(split_address(part, default_host))
    if not masters:
        raise TitanError("E_INVALID_REQUEST", f"{spec!r} names no master (example: a:9090,b:9090)")
    return masters


def split_address(value, default_host="127.0.0.1"):
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host.strip("[]") or default_host, int(port)
    return value.strip("[]"), DEFAULT_PORT


def format_address(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_to_leader(masters, open_one, prefer=None, failover_timeout=FAILOVER_TIMEOUT):
    """The connection ``open_one(host, port)`` made to the leader: the named one first, then the list in order.

    A standby's E_NOT_LEADER sends us to the leader it names; a refused, closed or silent address
    moves on to the next. One master is one attempt, as before lists; with several, rounds repeat
    with a short backoff until failover_timeout, then the error names every address tried.
    """
    listed = [format_address(h, p) for h, p in masters]
    budget = failover_timeout if len(listed) > 1 else 0.0
    deadline = time.monotonic() + budget
    outcomes = {}
    last = None
    named = prefer
    round_ = 0
    while True:
        queue = listed if named is None else [named] + [a for a in listed if a != named]
        queue = list(queue)
        seen = set()
        named = None
        while queue:
            address = queue.pop(0)
            if address in seen:
                continue
            seen.add(address)
            try:
                return open_one(*split_address(address))
            except TitanError as err:
                if err.code not in MOVE_ON:
                    raise
                last = err
                outcomes[address] = err.message
                if err.leader and err.leader not in seen:
                    queue.insert(0, err.leader)  # followed within this round: a standby's answer costs no backoff
                elif err.leader:
                    named = err.leader
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(left, BACKOFF_MAX, BACKOFF_MIN * 2 ** round_))
        round_ += 1
    if len(outcomes) == 1 and last is not None:
        raise last
    tried = "; ".join(f"{a}: {why}" for a, why in outcomes.items())
    code = E_NOT_LEADER if last is not None and last.code == E_NOT_LEADER else E_CONNECTION_CLOSED
    within = f" within {budget:g} s" if budget > 0 else ""
    raise TitanError(code, f"no leading master found{within}; tried {len(outcomes)} addresses — {tried}")
