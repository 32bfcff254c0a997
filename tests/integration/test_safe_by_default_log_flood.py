"""Safe by default (issue 13, review finding 27): a client repeating the same error cannot flood the log.

Each log message is written at most 20 times per 10 s; the rest are counted, and the next line of that message
after the window says how many were left out (``suppressed_before=N``).
"""

from __future__ import annotations

import re
import socket
import time

import pytest

from helpers import wait_until
from procs import IMPL

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's log rate limit (issue 13)")

REFUSED = "connection refused: too many open connections"


def test_finding27_repeated_client_errors_are_rate_limited_in_the_log(gateways, echo_kernelspecs_dir, root_dir):
    gw = gateways("logflood", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir,
                  extra_args=["--max-connections", "1", "--header-timeout", "30"])
    gw.rest.session.close()  # the readiness checks' keep-alive connection would hold the only slot
    time.sleep(0.2)
    holder = socket.create_connection((gw.host, gw.port))  # takes the only slot
    time.sleep(0.2)
    try:
        def refused_burst(count: int):
            for _ in range(count):
                s = socket.create_connection((gw.host, gw.port), timeout=5)
                s.settimeout(5)
                assert s.recv(16) == b"", "a connection beyond --max-connections must be closed at once"
                s.close()

        refused_burst(300)
        wait_until(lambda: gw.log_path.read_text(errors="replace").count(REFUSED) >= 20, 10, what="refusals logged")
        time.sleep(0.5)
        log = gw.log_path.read_text(errors="replace")
        assert log.count(REFUSED) == 20, f"300 refusals wrote {log.count(REFUSED)} log lines (expected 20)"

        # After the 10 s window the next refusal is written again, with the count of those left out.
        time.sleep(10.5)
        refused_burst(1)
        wait_until(lambda: "suppressed_before=" in gw.log_path.read_text(errors="replace"), 10, what="the summary line")
        summary = [line for line in gw.log_path.read_text(errors="replace").splitlines() if REFUSED in line][-1]
        assert re.search(r"suppressed_before=280\b", summary), summary
    finally:
        holder.close()
    # The gateway still serves once the slot is free again.
    wait_until(lambda: gw.rest.get("api", timeout=5).status_code == 200, 15, what="the gateway serving again")
