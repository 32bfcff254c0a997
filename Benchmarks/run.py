#!/usr/bin/env python3
"""Side-by-side benchmark: our gateway vs Jupyter Enterprise Gateway vs kernels driven directly.

Run it through Benchmarks/run.sh (which prepares the venvs and builds). See Benchmarks/README.md.
Exit status: 0 when every correctness check passed (e.g. 20 000 of 20 000 lines, idle seen), 1 otherwise.
Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import measures  # noqa: E402
from benchlib.conns import LibWSConn  # noqa: E402
from benchlib.targets import DirectTarget, GatewayTarget, free_port  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class Config:
    def __init__(self, quick: bool):
        self.quick = quick
        self.start_runs = 3 if quick else 10
        self.exec_warmup = 10 if quick else 50
        self.exec_runs = 50 if quick else 300
        self.flood_a_lines = 20000
        self.flood_runs = 1 if quick else 3
        self.flood_b_outputs, self.flood_b_size = 200, 100 * 1024
        self.conc_kernels = 8
        self.conc_executes = 10 if quick else 50
        self.attached_kernels = 20 if quick else 200
        self.relay_small = 5000 if quick else 10000
        self.relay_big_count, self.relay_big_size = (20 if quick else 100), 1_000_000
        self.relay_runs = 2 if quick else 5
        # Timed measurements are split into this many interleaved rounds (direct, ours, EG, direct, ...).
        self.rounds = 2 if quick else 5

    def as_dict(self):
        return dict(self.__dict__)


# -- the table -----------------------------------------------------------------------------------------
# (key, label, unit, targets) where a target is (reference, factor, op): ours op factor × reference.
METRICS = [
    ("start_p50_s", "kernel start p50", "s", [("eg", 1.0, "<=")]),
    ("start_p90_s", "kernel start p90", "s", []),
    ("start_post_p50_s", "kernel start: POST answered, p50", "s", []),
    ("echo_start_p50_s", "echo kernel start p50", "s", []),
    ("echo_start_p90_s", "echo kernel start p90", "s", []),
    ("exec_reply_p50_ms", "execute → reply p50", "ms", [("direct", 1.15, "<=")]),
    ("exec_reply_p99_ms", "execute → reply p99", "ms", [("direct", 1.3, "<=")]),
    ("exec_idle_p50_ms", "execute → idle p50", "ms", [("direct", 1.15, "<=")]),
    ("exec_idle_p99_ms", "execute → idle p99", "ms", [("direct", 1.3, "<=")]),
    ("floodA_lines_min", "flood A lines (min of runs)", "lines", [("abs", 20000, "==")]),
    ("floodA_msgs_per_s", "flood A iopub msgs/s", "msg/s", [("direct", 0.9, ">=")]),
    ("floodA_lines_per_s", "flood A lines/s", "line/s", []),
    ("floodA_wall_s", "flood A wall to idle", "s", []),
    ("floodB_MB_per_s", "flood B throughput", "MB/s", [("direct", 0.8, ">="), ("eg", 15.0, ">=")]),
    ("floodB_wall_s", "flood B wall to idle", "s", []),
    ("wsc_floodB_MB_per_s", "flood B, websocket-client library", "MB/s", [("direct", 0.8, ">="), ("eg", 15.0, ">=")]),
    ("wsc_floodB_wall_s", "flood B, websocket-client: wall to idle", "s", []),
    ("conc_exec_per_s", "concurrent 8×N executes/s", "exec/s", [("eg", 1.0, ">=")]),
    ("conc_p50_ms", "concurrent latency p50", "ms", []),
    ("conc_p99_ms", "concurrent latency p99", "ms", [("eg", 1.0, "<=")]),
    ("rss_idle_mib", "gateway RSS idle", "MiB", [("eg", 0.25, "<=")]),
    ("rss_idle_anon_mib", "gateway RSS idle: anonymous part", "MiB", []),
    ("rss_8_mib", "gateway RSS, 8 kernels attached", "MiB", []),
    ("attached_kernels", "echo kernels attached (N)", "", []),
    ("rss_attached_mib", "gateway RSS, N echo kernels attached", "MiB", []),
    ("per_started_kernel_kib", "gateway RSS per started kernel (no client yet)", "KiB", []),
    ("per_kernel_kib", "gateway RSS per attached kernel", "KiB", [("abs", 200, "<="), ("eg", 1.0, "<=")]),
    ("rss_end_mib", "gateway RSS at the end (no kernels)", "MiB", []),
    ("rss_settled_mib", "gateway RSS 35 s later (after a heap trim)", "MiB", []),
    ("relay_rtt_idle_p50_ms", "echo kernel: execute → idle p50", "ms", []),
    ("relay_rtt_idle_p99_ms", "echo kernel: execute → idle p99", "ms", []),
    ("relay_msgs_per_s", "relay ceiling (echo) msgs/s", "msg/s", []),
    ("relay_MB_per_s", "relay ceiling (echo) MB/s", "MB/s", []),
    ("v1_exec_reply_p50_ms", "v1: execute → reply p50", "ms", [("direct", 1.15, "<=")]),
    ("v1_exec_idle_p99_ms", "v1: execute → idle p99", "ms", [("direct", 1.3, "<=")]),
    ("v1_relay_rtt_idle_p50_ms", "v1: echo kernel: execute → idle p50", "ms", []),
    ("v1_relay_msgs_per_s", "v1: relay ceiling msgs/s", "msg/s", []),
    ("v1_relay_MB_per_s", "v1: relay ceiling MB/s", "MB/s", []),
]
# v1 rows compare ours-over-v1 with the direct column.
V1_SOURCE = {"v1_exec_reply_p50_ms": "exec_reply_p50_ms", "v1_exec_idle_p99_ms": "exec_idle_p99_ms",
             "v1_relay_msgs_per_s": "relay_msgs_per_s", "v1_relay_MB_per_s": "relay_MB_per_s",
             "v1_relay_rtt_idle_p50_ms": "relay_rtt_idle_p50_ms"}
# websocket-client rows compare both gateways with the direct floor (which has no WebSocket to read).
WSC_SOURCE = {"wsc_floodB_MB_per_s": "floodB_MB_per_s", "wsc_floodB_wall_s": "floodB_wall_s"}


def _value(results, who, key):
    if key in V1_SOURCE:
        if who == "ours":
            return results.get("ours", {}).get(key)
        if who == "direct":
            return results.get("direct", {}).get(V1_SOURCE[key])
        return None
    if key in WSC_SOURCE and who == "direct":
        return results.get("direct", {}).get(WSC_SOURCE[key])
    return results.get(who, {}).get(key)


def _ratio(a, b):
    if a is None or b is None or not b or (isinstance(b, float) and math.isnan(b)):
        return None
    return a / b


def _check(ours, results, key, targets):
    verdicts = []
    for ref, factor, op in targets:
        base = factor if ref == "abs" else (None if _value(results, ref, key) is None
                                            else factor * _value(results, ref, key))
        if ours is None or base is None:
            continue
        ok = {"<=": ours <= base, ">=": ours >= base, "==": ours == base}[op]
        label = f"{op} {factor:g}" if ref == "abs" else f"{op} {factor:g}×{ref}"
        verdicts.append({"target": label, "met": ok})
    return verdicts


def _fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def build_table(results):
    rows = []
    for key, label, unit, targets in METRICS:
        d, o, e = (_value(results, who, key) for who in ("direct", "ours", "eg"))
        if d is None and o is None and e is None:
            continue
        rows.append({"key": key, "metric": label, "unit": unit, "direct": d, "ours": o, "eg": e,
                     "ours_direct": _ratio(o, d), "ours_eg": _ratio(o, e), "targets": _check(o, results, key, targets)})
    return rows


def render_table(rows) -> str:
    header = ["metric", "unit", "direct", "ours", "EG", "ours/direct", "ours/EG", "target"]
    lines = []
    for r in rows:
        target = ", ".join(f"{t['target']} {'✓' if t['met'] else '✗'}" for t in r["targets"])
        lines.append([r["metric"], r["unit"], _fmt(r["direct"]), _fmt(r["ours"]), _fmt(r["eg"]),
                      _fmt(r["ours_direct"]), _fmt(r["ours_eg"]), target])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for line in lines:
        out.append("| " + " | ".join(str(x).ljust(w) for x, w in zip(line, widths)) + " |")
    return "\n".join(out)


# -- running ------------------------------------------------------------------------------------------
def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Lane:
    """One connection to one kernel of one target, with the samples gathered on it."""

    def __init__(self, target, protocol: str = "legacy"):
        self.target = target
        self.protocol = protocol
        self.prefix = "" if protocol == "legacy" else "v1_"
        self.name = target.label + ("" if protocol == "legacy" else " (v1)")
        self.kernel_id = None
        self.conn = None
        self.ok = True
        self.samples: dict = {}

    def open(self, kernel_name: str):
        self.kernel_id = self.target.start_kernel(kernel_name)
        if self.protocol == "v1":
            from benchlib.conns import WSConn

            self.conn = WSConn(self.target.host, self.target.port, self.kernel_id, protocol="v1")
        else:
            self.conn = self.target.connect(self.kernel_id)
        self.conn.settle()
        self.conn.drain(0.2)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.kernel_id is not None:
            kernel_id, self.kernel_id = self.kernel_id, None
            self.target.shutdown_kernel(kernel_id)

    def add(self, key: str, samples) -> None:
        """Merges samples: lists are extended, dicts of lists merged key by key."""
        if isinstance(samples, dict):
            into = self.samples.setdefault(key, {})
            for k, v in samples.items():
                into.setdefault(k, []).extend(v)
        else:
            self.samples.setdefault(key, []).extend(samples)


class Runner:
    """Runs every measurement on every target.

    All targets are up at once and the timed measurements are **interleaved**: round 1 on direct, ours, EG,
    then round 2, ... so that load that comes and goes on the machine spreads over all of them instead of
    landing on one. Memory is measured per gateway, one at a time."""

    def __init__(self, targets, cfg: Config, v1: bool):
        self.targets = list(targets)
        self.cfg = cfg
        self.v1 = v1
        self.res = {t.label: {} for t in targets}
        self.errors: list[str] = []

    def guard(self, who: str, title: str, fn):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one failed step must not hide the others
            self.errors.append(f"{who}: {title}: {type(exc).__name__}: {exc}")
            log(f"{who}: {title} FAILED: {exc}")
            traceback.print_exc()
            return None

    def gateways(self):
        return [t for t in self.targets if isinstance(t, GatewayTarget)]

    def lanes(self, with_v1: bool):
        lanes = []
        for t in self.targets:
            lanes.append(Lane(t))
            if with_v1 and self.v1 and t.label == "ours":
                lanes.append(Lane(t, "v1"))
        return lanes

    def interleave(self, lanes, title: str, rounds: int, body, stop_on_error: bool = True) -> None:
        """`rounds` rounds; in each, `body(lane)` once per working lane, its samples merged under `title`.
        A lane that fails is left out of the later rounds unless `stop_on_error` is false."""
        log(f"{title}: {rounds} round(s) over {', '.join(lane.name for lane in lanes if lane.ok)}")
        for _ in range(rounds):
            for lane in lanes:
                if not lane.ok:
                    continue
                out = self.guard(lane.name, title, lambda: body(lane))
                if out is None:
                    lane.ok = not stop_on_error
                else:
                    lane.add(title, out)

    def run(self) -> None:
        cfg = self.cfg
        for t in list(self.targets):
            log(f"starting {t.label}")
            if self.guard(t.label, "start", lambda: t.start() or True) is None:
                self.targets.remove(t)
        time.sleep(1.0)
        for t in self.gateways():
            self.res[t.label]["rss_idle_mib"] = t.rss_kib() / 1024
            self.res[t.label]["rss_idle_anon_mib"] = t.rss_kib("RssAnon") / 1024
        for t in self.gateways():
            log(f"{t.label}: {cfg.attached_kernels} attached echo kernels")
            out = self.guard(t.label, "attached echo kernels", lambda: attached(t, cfg))
            if out:
                self.res[t.label].update(out)
        self.concurrent()
        self.kernel_start()
        self.python_kernel()
        self.echo_kernel()
        time.sleep(1.0)
        for t in self.gateways():
            self.res[t.label]["rss_end_mib"] = t.rss_kib() / 1024
        time.sleep(35.0)  # ours trims freed heap every 30 s (HeapTrimmer); EG never does
        for t in self.gateways():
            self.res[t.label]["rss_settled_mib"] = t.rss_kib() / 1024

    def concurrent(self) -> None:
        cfg = self.cfg
        groups = {}
        log(f"concurrent: starting {cfg.conc_kernels} python3 kernels on each target")
        for t in self.targets:
            def open_group(t=t):
                gateway = isinstance(t, GatewayTarget)
                failures = self.res[t.label].setdefault("conc_start_failures", [])
                ids = measures.start_kernels(t, "python3", cfg.conc_kernels, 8 if gateway else 1, failures)
                groups[t.label] = (t, ids, [])
                for k in ids:
                    groups[t.label][2].append(t.connect(k))
                for c in groups[t.label][2]:
                    c.settle(60)
                    for _ in range(3):
                        measures.execute(c, "1", 30)
                return True
            self.guard(t.label, "concurrent: start kernels", open_group)
        try:
            rounds = cfg.rounds
            per_round = max(1, cfg.conc_executes // rounds)
            samples = {label: {} for label in groups}
            log(f"concurrent: {rounds} round(s) of {cfg.conc_kernels}×{per_round} executes")
            for _ in range(rounds):
                for label, (t, _, conns) in groups.items():
                    if samples[label] is None or len(conns) != cfg.conc_kernels:
                        continue
                    out = self.guard(label, "concurrent", lambda: measures.concurrent(conns, per_round))
                    if out is None:
                        samples[label] = None
                        continue
                    for k, v in out.items():
                        samples[label].setdefault(k, []).extend(v)
            for label, (t, _, conns) in groups.items():
                if samples[label]:
                    self.res[label].update(measures.concurrent_stats(samples[label]))
                    if self.res[label]["conc_executes"] != rounds * per_round * cfg.conc_kernels:
                        self.errors.append(f"{label}: concurrent: only {self.res[label]['conc_executes']} executes")
                if isinstance(t, GatewayTarget):
                    self.res[label]["rss_8_mib"] = t.rss_kib() / 1024
        finally:
            for label, (t, ids, conns) in groups.items():
                for c in conns:
                    c.close()
                self.guard(label, "concurrent: shutdown", lambda: measures.shutdown_kernels(
                    t, ids, 8 if isinstance(t, GatewayTarget) else 1))

    def kernel_start(self) -> None:
        lanes = self.lanes(with_v1=False)
        self.interleave(lanes, "kernel start", self.cfg.start_runs,
                        lambda lane: measures.kernel_start_once(lane.target, "python3"), stop_on_error=False)
        # The echo kernel binds its ports and answers at once: what remains is the gateway's own start path.
        self.interleave(lanes, "echo kernel start", self.cfg.start_runs,
                        lambda lane: measures.kernel_start_once(lane.target, "echo"), stop_on_error=False)
        for lane in lanes:
            res = self.res[lane.target.label]
            if lane.samples.get("kernel start"):
                res.update(measures.start_stats(lane.samples["kernel start"]))
            if lane.samples.get("echo kernel start"):
                stats = measures.start_stats(lane.samples["echo kernel start"])
                res.update({"echo_" + k: v for k, v in stats.items() if k != "start_post_p50_s"})

    def _with_lanes(self, kernel_name: str, fn) -> None:
        lanes = self.lanes(with_v1=True)
        try:
            for lane in lanes:
                if self.guard(lane.name, f"open a {kernel_name} kernel", lambda: lane.open(kernel_name) or True) is None:
                    lane.ok = False
            fn(lanes)
        finally:
            for lane in lanes:
                self.guard(lane.name, f"close the {kernel_name} kernel", lane.close)

    def python_kernel(self) -> None:
        cfg = self.cfg

        def body(lanes):
            rounds = cfg.rounds
            for lane in lanes:
                if lane.ok:
                    self.guard(lane.name, "warm-up", lambda: measures.execute_samples(lane.conn, 0, warmup=cfg.exec_warmup))
            self.interleave(lanes, "execute round trip", rounds,
                            lambda lane: measures.execute_samples(lane.conn, max(1, cfg.exec_runs // rounds)))
            legacy = [lane for lane in lanes if lane.protocol == "legacy"]
            self.interleave(legacy, "flood A", cfg.flood_runs, lambda lane: [measures.flood(
                lane.conn, measures.flood_a_code(cfg.flood_a_lines))])
            self.interleave(legacy, "flood B", cfg.flood_runs, lambda lane: [measures.flood(
                lane.conn, measures.flood_b_code(cfg.flood_b_outputs, cfg.flood_b_size))])
            gateways = [lane for lane in legacy if isinstance(lane.target, GatewayTarget)]
            self.interleave(gateways, "flood B websocket-client", cfg.flood_runs,
                            lambda lane: [flood_with_websocket_client(lane, cfg)])
            for lane in lanes:
                res = self.res[lane.target.label]
                if lane.samples.get("flood B websocket-client"):
                    stats = measures.flood_b_stats(lane.samples["flood B websocket-client"], cfg.flood_b_outputs,
                                                   cfg.flood_b_size)
                    res.update({"wsc_" + k: v for k, v in stats.items()})
                if lane.samples.get("execute round trip"):
                    stats = measures.rtt_stats(lane.samples["execute round trip"])
                    res.update({lane.prefix + k: v for k, v in stats.items()})
                if lane.samples.get("flood A"):
                    res.update(measures.flood_a_stats(lane.samples["flood A"], cfg.flood_a_lines))
                if lane.samples.get("flood B"):
                    res.update(measures.flood_b_stats(lane.samples["flood B"], cfg.flood_b_outputs, cfg.flood_b_size))

        self._with_lanes("python3", body)

    def echo_kernel(self) -> None:
        cfg = self.cfg

        def body(lanes):
            rounds = cfg.rounds
            for lane in lanes:
                if lane.ok:
                    def warm(lane=lane):
                        measures.execute_samples(lane.conn, 0, warmup=20)
                        measures.echo_burst(lane.conn, min(cfg.relay_small, 1000), 64)
                        measures.echo_burst(lane.conn, min(cfg.relay_big_count, 10), cfg.relay_big_size)
                    self.guard(lane.name, "warm-up", warm)
            self.interleave(lanes, "echo round trip", rounds,
                            lambda lane: measures.execute_samples(lane.conn, max(1, cfg.exec_runs // rounds)))
            self.interleave(lanes, "relay small", cfg.relay_runs,
                            lambda lane: [measures.echo_burst(lane.conn, cfg.relay_small, 64)])
            self.interleave(lanes, "relay big", cfg.relay_runs,
                            lambda lane: [measures.echo_burst(lane.conn, cfg.relay_big_count, cfg.relay_big_size)])
            for lane in lanes:
                res = self.res[lane.target.label]
                p = lane.prefix + "relay"
                if lane.samples.get("echo round trip"):
                    rtt = measures.rtt_stats(lane.samples["echo round trip"], "rtt")
                    res.update({f"{p}_rtt_idle_p50_ms": rtt["rtt_idle_p50_ms"],
                                f"{p}_rtt_idle_p99_ms": rtt["rtt_idle_p99_ms"]})
                if lane.samples.get("relay small") and lane.samples.get("relay big"):
                    res.update(measures.relay_stats(lane.samples["relay small"], lane.samples["relay big"], p))

        self._with_lanes("echo", body)


def flood_with_websocket_client(lane, cfg) -> dict:
    """Flood B on the lane's kernel over a second WebSocket opened with the websocket-client library (the
    lane's own connection is closed meanwhile, so one client reads the flood) and reopened afterwards."""
    lane.conn.close()
    lane.conn = None
    conn = LibWSConn(lane.target.host, lane.target.port, lane.kernel_id)
    try:
        conn.settle()
        conn.drain(0.2)
        return measures.flood(conn, measures.flood_b_code(cfg.flood_b_outputs, cfg.flood_b_size))
    finally:
        conn.close()
        lane.conn = lane.target.connect(lane.kernel_id)
        lane.conn.settle()
        lane.conn.drain(0.2)


CORRECTNESS = {
    "floodA_ok": "flood A: not every run delivered all lines, the execute_reply and the idle status",
    "floodB_ok": "flood B: not every run delivered all bytes, the execute_reply and the idle status",
    "wsc_floodB_ok": "flood B with websocket-client: not every run delivered all bytes, the execute_reply and "
                     "the idle status",
    "relay_ok": "relay (echo kernel): stream messages or the idle status lost",
    "v1_relay_ok": "relay over v1 (echo kernel): stream messages or the idle status lost",
}


def correctness(res: dict) -> list[str]:
    """What a target got wrong (as opposed to slow)."""
    problems = []
    if res.get("attached_failure"):
        problems.append(f"could attach only {res.get('attached_kernels')} echo kernels: {res['attached_failure']}")
    if res.get("attached_start_failures"):
        failures = res["attached_start_failures"]
        problems.append(f"{len(failures)} kernel start(s) failed and were retried while starting "
                        f"{res.get('attached_kernels')} echo kernels 4 at a time; first: {failures[0]}")
    if res.get("conc_start_failures"):
        failures = res["conc_start_failures"]
        problems.append(f"{len(failures)} kernel start(s) failed and were retried while starting 8 python3 "
                        f"kernels at once; first: {failures[0]}")
    for key, text in CORRECTNESS.items():
        if res.get(key) is not False:
            continue
        runs = res.get(key.replace("_ok", "_runs"))
        if key == "floodA_ok":
            text += f" (lines per run: {[r['lines'] for r in runs]}, idle: {[r['idle'] for r in runs]})"
        elif key in ("floodB_ok", "wsc_floodB_ok"):
            text += f" (bytes per run: {[r['text_bytes'] for r in runs]}, idle: {[r['idle'] for r in runs]})"
        problems.append(text)
    return problems


def attached(target, cfg):
    """Gateway RSS growth with N echo kernels, each with one attached WebSocket that has done a round trip.

    If the gateway cannot start or attach them all, the cost is computed over those it did attach and the
    failure is recorded (`attached_failure`): a finding for EG, an error for ours (see correctness())."""
    time.sleep(0.5)
    before = target.rss_kib()
    t0 = time.monotonic()
    failures: list[str] = []
    kernel_ids: list[str] = []
    conns = []
    failure = None
    try:
        try:
            kernel_ids = measures.start_kernels(target, "echo", cfg.attached_kernels, 4, failures)
        except Exception as exc:  # noqa: BLE001
            failure = f"starting {cfg.attached_kernels} echo kernels: {type(exc).__name__}: {exc}"
            kernel_ids = list(target.kernels)
        time.sleep(1.0)
        started_only = target.rss_kib()
        for k in kernel_ids:
            if failure:
                break
            conn = None
            try:
                conn = target.connect(k)
                conn.settle(60)
                conns.append(conn)
            except Exception as exc:  # noqa: BLE001
                if conn is not None:
                    conn.close()
                failure = (f"attaching kernel {len(conns) + 1} of {len(kernel_ids)}: {type(exc).__name__}: {exc}"
                           f" (see the gateway log)")
        started = time.monotonic() - t0
        time.sleep(1.0)
        after = target.rss_kib()
        anon = target.rss_kib("RssAnon")
        return {"rss_before_attached_mib": before / 1024, "rss_attached_mib": after / 1024,
                "rss_attached_anon_mib": anon / 1024,
                "per_started_kernel_kib": (started_only - before) / len(kernel_ids) if kernel_ids else None,
                "attached_kernels": len(conns), "per_kernel_kib": (after - before) / len(conns) if conns else None,
                "attached_start_s": started, "attached_start_failures": failures, "attached_failure": failure}
    finally:
        for c in conns:
            c.close()
        measures.shutdown_kernels(target, list(target.kernels), 8)


# -- setup ---------------------------------------------------------------------------------------------
def write_kernelspecs(root: Path, python: str, echo_kernel: str) -> Path:
    kernels = root / "kernels"
    (kernels / "python3").mkdir(parents=True)
    (kernels / "echo").mkdir(parents=True)
    (kernels / "python3" / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (benchmark)", "language": "python", "metadata": {"debugger": False}}))
    (kernels / "echo" / "kernel.json").write_text(json.dumps({
        "argv": [echo_kernel, "-f", "{connection_file}"], "display_name": "Echo (benchmark)", "language": "echo",
        "interrupt_mode": "message"}))
    return kernels


def base_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "EG_", "EJ_", "KERNEL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def make_ours(binary: str, kernels: Path, tmp: Path, logs: Path, protocol="legacy") -> GatewayTarget:
    port = free_port()
    runtime = tmp / "ours-runtime"
    runtime.mkdir(mode=0o700)  # private, as the gateway requires of a runtime directory
    argv = [binary, "gateway", "--ip", "127.0.0.1", "--port", str(port), "--kernelspecs-dir", str(kernels),
            "--log-level", "warning", "--runtime-dir", str(runtime), "--root-dir", str(tmp)]
    # The benchmark's clients send no token: run open on purpose (binaries from before the flag were open anyway).
    try:
        help_text = subprocess.run([binary, "gateway", "--help"], capture_output=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        help_text = b"--allow-unauthenticated"
    if b"--allow-unauthenticated" in help_text:
        argv.append("--allow-unauthenticated")
    return GatewayTarget("ours", argv, base_env(), port, logs / "ours.log", protocol)


def make_eg(venv: Path, jupyter_path: Path, tmp: Path, logs: Path) -> GatewayTarget:
    port = free_port()
    env = base_env()
    for name in ("eg-data", "eg-config", "eg-runtime"):
        (tmp / name).mkdir()
    env.update({"JUPYTER_PATH": str(jupyter_path), "JUPYTER_DATA_DIR": str(tmp / "eg-data"),
                "JUPYTER_CONFIG_DIR": str(tmp / "eg-config"), "JUPYTER_RUNTIME_DIR": str(tmp / "eg-runtime"),
                "EG_RESPONSE_IP": "127.0.0.1", "EG_RESPONSE_PORT": str(free_port()),
                "EG_RESPONSE_PORT_RETRIES": "0"})
    argv = [str(venv / "bin" / "jupyter-enterprisegateway"), "--ip=127.0.0.1", f"--port={port}", "--port_retries=0",
            "--log-level=WARN", "--EnterpriseGatewayApp.list_kernels=True",
            "--KernelSpecManager.ensure_native_kernel=False"]
    return GatewayTarget("eg", argv, env, port, logs / "eg.log")


def versions(eg_venv: Path | None) -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    try:
        import ipykernel
        import jupyter_client
        import zmq

        out.update(ipykernel=ipykernel.__version__, jupyter_client=jupyter_client.__version__,
                   pyzmq=zmq.__version__, libzmq=zmq.zmq_version())
    except ImportError:
        pass
    if eg_venv:
        try:
            code = ("import enterprise_gateway, jupyter_server, jupyter_client, tornado;"
                    "print(enterprise_gateway.__version__, jupyter_server.__version__,"
                    " jupyter_client.__version__, tornado.version)")
            eg, js, jc, tornado = subprocess.run([str(eg_venv / "bin" / "python"), "-c", code], capture_output=True,
                                                 text=True, timeout=60).stdout.split()
            out.update(enterprise_gateway=eg, eg_jupyter_server=js, eg_jupyter_client=jc, eg_tornado=tornado)
        except Exception:  # noqa: BLE001
            pass
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few iterations (a smoke check; < 2 min with --no-eg)")
    p.add_argument("--no-eg", action="store_true", help="skip Enterprise Gateway")
    p.add_argument("--no-direct", action="store_true", help="skip the direct (no gateway) floor")
    p.add_argument("--no-ours", action="store_true", help="skip our gateway")
    p.add_argument("--no-v1", action="store_true", help="skip the extra v1-protocol rows for our gateway")
    p.add_argument("--build", choices=["debug", "release"], help="which build of ours (default: release; "
                   "debug with --quick)")
    p.add_argument("--gateway-bin", help="path of elastic-jupyter (overrides --build)")
    p.add_argument("--echo-kernel-bin", help="path of echo-kernel (overrides --build)")
    p.add_argument("--eg-venv", default=str(REPO / ".venv-eg"), help="venv with jupyter-enterprise-gateway")
    p.add_argument("--kernel-python", default=sys.executable, help="python with ipykernel for the python3 kernelspec")
    p.add_argument("--out", default=str(REPO / "benchmark-results"), help="directory for results.json and logs")
    p.add_argument("--time-limit", type=float, help="abort after this many seconds (default 900 quick, 3600 full)")
    args = p.parse_args(argv)

    build = args.build or ("debug" if args.quick else "release")
    bindir = REPO / (".build/debug" if build == "debug" else ".build-release/release")
    gateway_bin = args.gateway_bin or str(bindir / "elastic-jupyter")
    echo_bin = args.echo_kernel_bin or str(bindir / "echo-kernel")
    for path in ([gateway_bin] if not args.no_ours else []) + [echo_bin]:
        if not os.access(path, os.X_OK):
            print(f"missing binary {path} (build it, see Benchmarks/README.md)", file=sys.stderr)
            return 2
    if not args.quick and build == "debug":
        print("warning: a full run on the debug build; the numbers mean little", file=sys.stderr)
    eg_venv = None if args.no_eg else Path(args.eg_venv)
    if eg_venv and not (eg_venv / "bin" / "jupyter-enterprisegateway").exists():
        print(f"no Enterprise Gateway in {eg_venv} (run Benchmarks/run.sh, or pass --no-eg)", file=sys.stderr)
        return 2

    cfg = Config(args.quick)
    out_dir = Path(args.out)
    logs = out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ej-bench-"))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(args.time_limit or (900 if args.quick else 3600)))
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass

    kernels = write_kernelspecs(tmp / "jupyter", args.kernel_python, echo_bin)
    targets = []
    if not args.no_direct:
        targets.append(DirectTarget(kernels, logs / "direct-kernels.log"))
    if not args.no_ours:
        targets.append(make_ours(gateway_bin, kernels, tmp, logs))
    if eg_venv:
        targets.append(make_eg(eg_venv, tmp / "jupyter", tmp, logs))

    errors: list[str] = []
    findings: list[str] = []
    started = time.time()
    interrupted = False
    runner = Runner(targets, cfg, v1=not args.no_v1)
    results = runner.res
    try:
        runner.run()
    except KeyboardInterrupt as exc:
        interrupted = True
        errors.append(f"interrupted: {exc}")
        log(f"interrupted ({exc}); stopping everything")
    finally:
        signal.alarm(0)
        for target in targets:
            try:
                log(f"stopping {target.label}")
                target.stop()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"stopping {target.label}: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
    errors[:0] = runner.errors
    for label, res in results.items():
        for problem in correctness(res):
            # EG's own shortcomings are findings; ours (or the harness's, for direct) fail the run, except
            # retried kernel starts (a port race, see the README), which are reported only.
            retried = "were retried" in problem
            (findings if label == "eg" or retried else errors).append(f"{label}: {problem}")

    rows = build_table(results)
    table = render_table(rows)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "mode": "quick" if args.quick else "full",
            "build": "custom" if args.gateway_bin else build, "gateway_bin": gateway_bin, "echo_kernel_bin": echo_bin,
            "targets": [t.label for t in targets], "config": cfg.as_dict(), "versions": versions(eg_venv),
            "cpus": os.cpu_count(), "seconds": round(time.time() - started, 1)}
    (out_dir / "results.json").write_text(json.dumps(
        {"meta": meta, "table": rows, "results": results, "errors": errors, "findings": findings}, indent=2, default=str))
    print()
    print(f"mode={meta['mode']} build={meta['build']} targets={','.join(meta['targets'])} "
          f"({meta['seconds']} s; results in {out_dir / 'results.json'})")
    print(table)
    if findings:
        print("\nFindings (not failures):")
        for f in findings:
            print("  " + f)
    if errors:
        print("\nERRORS:")
        for e in errors:
            print("  " + e)
    return 1 if errors or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
