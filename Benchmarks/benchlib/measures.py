"""The measurements. Each one takes a target or a connection and returns raw samples (lists) or one run's
facts; the `*_stats` functions turn the samples gathered over interleaved rounds into the reported numbers.

Times are wall-clock (time.perf_counter) as seen by the client; every wait has a deadline.
"""
from __future__ import annotations

import math
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import zmq

from .conns import execute_content


def percentile(values, q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def median(values):
    return statistics.median(values) if values else float("nan")


# -- kernel start --------------------------------------------------------------------------------------
def kernel_start_once(target, name: str, timeout: float = 120.0) -> dict:
    """POST (or KernelManager.start_kernel) until kernel_info_reply over a new connection; shutdown untimed."""
    t0 = time.perf_counter()
    kernel_id = target.start_kernel(name, timeout=timeout)
    post = time.perf_counter() - t0
    try:
        conn = target.connect(kernel_id)
        try:
            conn.request("kernel_info_request", {}, "kernel_info_reply", timeout=timeout)
            total = time.perf_counter() - t0
        finally:
            conn.close()
    finally:
        target.shutdown_kernel(kernel_id)
    return {"start_s": [total], "start_post_s": [post]}


def start_stats(s: dict) -> dict:
    return {"start_p50_s": percentile(s["start_s"], 50), "start_p90_s": percentile(s["start_s"], 90),
            "start_post_p50_s": percentile(s["start_post_s"], 50)}


# -- execute round trip --------------------------------------------------------------------------------
def execute(conn, code: str, timeout: float):
    """Runs `code`; returns (seconds to execute_reply, seconds to idle, reply content)."""
    t0 = time.perf_counter()
    msg_id = conn.send("shell", "execute_request", execute_content(code))
    t_reply = t_idle = None
    reply = None
    deadline = time.monotonic() + timeout
    while t_reply is None or t_idle is None:
        msg = conn.recv_msg(max(0.0, deadline - time.monotonic()))
        if msg.parent_id != msg_id:
            continue
        if msg.msg_type == "execute_reply":
            t_reply = time.perf_counter() - t0
            reply = msg.content
        elif msg.is_idle_for(msg_id):
            t_idle = time.perf_counter() - t0
    return t_reply, t_idle, reply


def execute_samples(conn, runs: int, code: str = "1", warmup: int = 0) -> dict:
    for _ in range(warmup):
        execute(conn, code, 30)
    to_reply, to_idle = [], []
    for _ in range(runs):
        r, i, _ = execute(conn, code, 30)
        to_reply.append(r)
        to_idle.append(i)
    return {"reply_s": to_reply, "idle_s": to_idle}


def rtt_stats(s: dict, prefix: str = "exec") -> dict:
    return {f"{prefix}_reply_p50_ms": percentile(s["reply_s"], 50) * 1e3,
            f"{prefix}_reply_p99_ms": percentile(s["reply_s"], 99) * 1e3,
            f"{prefix}_idle_p50_ms": percentile(s["idle_s"], 50) * 1e3,
            f"{prefix}_idle_p99_ms": percentile(s["idle_s"], 99) * 1e3,
            f"{prefix}_runs": len(s["reply_s"])}


# -- floods --------------------------------------------------------------------------------------------
# After the execute_reply, output still in flight keeps arriving; if nothing comes for this long the rest
# (the idle status included) is taken as lost, so a gateway that drops messages costs seconds, not minutes.
QUIET_AFTER_REPLY = 10.0


def _wait(deadline: float, replied: bool) -> float:
    remaining = max(0.0, deadline - time.monotonic())
    return min(remaining, QUIET_AFTER_REPLY) if replied else remaining


def flood(conn, code: str, timeout: float = 300) -> dict:
    """Runs `code` and reads everything until its idle: iopub messages, stream lines and text bytes."""
    t0 = time.perf_counter()
    msg_id = conn.send("shell", "execute_request", execute_content(code))
    messages = lines = text_bytes = 0
    reply_status = None
    idle = False
    wall = None
    deadline = time.monotonic() + timeout
    try:
        while not idle or reply_status is None:
            msg = conn.recv_msg(_wait(deadline, reply_status is not None))
            if msg.parent_id != msg_id:
                continue
            if msg.msg_type == "execute_reply":
                reply_status = msg.content.get("status")
                continue
            messages += 1
            if msg.msg_type == "stream":
                text = msg.content.get("text", "")
                lines += text.count("\n")
                text_bytes += len(text)
            elif msg.is_idle_for(msg_id):
                idle = True
                wall = time.perf_counter() - t0
    except TimeoutError:
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "iopub_messages": messages, "lines": lines, "text_bytes": text_bytes,
            "idle": idle, "reply_status": reply_status}


def flood_a_code(lines: int) -> str:
    return f"for i in range({lines}): print(i, flush=True)"


def flood_b_code(outputs: int, size: int) -> str:
    return f"s = 'x' * {size - 1}\nfor i in range({outputs}): print(s, flush=True)"


def flood_a_stats(runs: list, lines: int) -> dict:
    return {
        "floodA_runs": runs,
        "floodA_lines_min": min(r["lines"] for r in runs),
        "floodA_ok": all(r["lines"] == lines and r["idle"] and r["reply_status"] == "ok" for r in runs),
        "floodA_msgs_per_s": median([r["iopub_messages"] / r["wall_s"] for r in runs]),
        "floodA_lines_per_s": median([r["lines"] / r["wall_s"] for r in runs]),
        "floodA_wall_s": median([r["wall_s"] for r in runs]),
    }


def flood_b_stats(runs: list, outputs: int, size: int) -> dict:
    return {
        "floodB_runs": runs,
        "floodB_ok": all(r["text_bytes"] == outputs * size and r["idle"] and r["reply_status"] == "ok"
                         for r in runs),
        "floodB_MB_per_s": median([r["text_bytes"] / r["wall_s"] / 1e6 for r in runs]),
        "floodB_wall_s": median([r["wall_s"] for r in runs]),
    }


# -- relay ceiling (echo kernel) -----------------------------------------------------------------------
def echo_burst(conn, count: int, size: int, timeout: float = 300) -> dict:
    """`echo COUNT SIZE` on the echo kernel, read with light decoding; returns wall time and counts."""
    t0 = time.perf_counter()
    msg_id = conn.send("shell", "execute_request", execute_content(f"echo {count} {size}"))
    other = 0
    reply = idle = False
    deadline = time.monotonic() + timeout
    wall = None
    while not (reply and idle):
        try:
            msg = conn.recv_msg(_wait(deadline, reply), light=True)
        except TimeoutError:
            if not reply:
                raise
            break  # the idle status was lost
        if msg.kind == "other":
            other += 1
        elif msg.parent_id == msg_id:
            if msg.msg_type == "execute_reply":
                reply = True
            elif msg.is_idle_for(msg_id):
                idle = True
                wall = time.perf_counter() - t0
    # `other` = the COUNT stream messages plus execute_input.
    return {"count": count, "size": size, "wall_s": wall or time.perf_counter() - t0,
            "stream_messages": other - 1, "ok": other - 1 == count and idle}


def relay_stats(small: list, big: list, prefix: str = "relay") -> dict:
    return {
        f"{prefix}_msgs_per_s": median([r["count"] / r["wall_s"] for r in small]),
        f"{prefix}_MB_per_s": median([r["count"] * r["size"] / r["wall_s"] / 1e6 for r in big]),
        f"{prefix}_ok": all(r["ok"] for r in small + big),
        f"{prefix}_runs": {"small": small, "big": big},
    }


# -- concurrent ----------------------------------------------------------------------------------------
def start_kernels(target, name: str, count: int, parallel: int, failures: list | None = None) -> list[str]:
    """Starts `count` kernels, `parallel` requests at a time. With a `failures` list, a failed start is
    recorded there and retried (twice at most) instead of failing the whole batch."""
    def one(_):
        for attempt in range(3 if failures is not None else 1):
            try:
                return target.start_kernel(name)
            except Exception as exc:  # noqa: BLE001
                if failures is None or attempt == 2:
                    raise
                failures.append(f"{type(exc).__name__}: {exc}")

    if parallel <= 1:
        return [one(i) for i in range(count)]
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(count)))


def shutdown_kernels(target, kernel_ids, parallel: int) -> None:
    if parallel <= 1:
        for k in kernel_ids:
            target.shutdown_kernel(k)
        return
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(target.shutdown_kernel, kernel_ids))


def concurrent(conns, executes: int, code: str = "1", timeout: float = 300) -> dict:
    """Each connection runs `executes` executes back to back (the next one sent at reply + idle), all at
    once, driven by one poll loop. Latency = send to reply-and-idle."""
    poller = zmq.Poller()
    for conn in conns:
        for handle in conn.poll_handles():
            poller.register(handle, zmq.POLLIN)
    # Per connection: [msg_id, sent at, reply seen, idle seen, executes sent]
    state = {}
    latencies = []

    def send(conn, sent_before):
        state[conn] = [conn.send("shell", "execute_request", execute_content(code)), time.perf_counter(),
                       False, False, sent_before + 1]

    t0 = time.perf_counter()
    for conn in conns:
        send(conn, 0)
    remaining = len(conns)
    deadline = time.monotonic() + timeout
    while remaining:
        progressed = False
        for conn in conns:
            while True:
                msg = conn.next_msg()
                if msg is None:
                    break
                progressed = True
                st = state[conn]
                if (st[2] and st[3]) or msg.parent_id != st[0]:
                    continue
                if msg.msg_type == "execute_reply":
                    st[2] = True
                elif msg.is_idle_for(st[0]):
                    st[3] = True
                if st[2] and st[3]:
                    latencies.append(time.perf_counter() - st[1])
                    if st[4] < executes:
                        send(conn, st[4])
                    else:
                        remaining -= 1
        if not remaining:
            break
        if time.monotonic() > deadline:
            raise TimeoutError("concurrent executes did not finish")
        if not progressed:
            poller.poll(100)
    return {"latency_s": latencies, "wall_s": [time.perf_counter() - t0]}


def concurrent_stats(s: dict) -> dict:
    lat = s["latency_s"]
    return {"conc_exec_per_s": len(lat) / sum(s["wall_s"]), "conc_p50_ms": percentile(lat, 50) * 1e3,
            "conc_p99_ms": percentile(lat, 99) * 1e3, "conc_executes": len(lat)}
