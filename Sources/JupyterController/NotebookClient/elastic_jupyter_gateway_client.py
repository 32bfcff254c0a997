"""jupyter_server's kernel WebSocket to an ElasticJupyter gateway, without losing what the notebook sends while a
gateway replica is replaced.

When a gateway replica stops (rolling update, eviction, crash), it closes the kernel WebSockets with 1001 and
jupyter_server re-opens them after ``JUPYTER_GATEWAY_RETRY_INTERVAL`` plus jitter. jupyter_server 2.x writes what the
notebook sends meanwhile to the closed socket, where it is lost (an execute that never gets a reply). This
connection class holds those messages, in order and bounded, and sends them on the re-opened WebSocket before
anything newer.

Enabled by ``ServerApp.kernel_websocket_connection_class =
"elastic_jupyter_gateway_client.HoldingGatewayWebSocketConnection"``; the controller sets it on notebook pods.
"""

from __future__ import annotations

from collections import deque

import tornado.websocket as tornado_websocket
from jupyter_server.gateway.connections import GatewayWebSocketConnection

#: Messages held at most while the gateway is away (beyond: dropped, with a warning).
MAX_HELD_MESSAGES = 1000
#: Bytes held at most.
MAX_HELD_BYTES = 32 << 20


class HoldingGatewayWebSocketConnection(GatewayWebSocketConnection):
    """A gateway kernel WebSocket that holds the notebook's messages while it is re-established."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: deque[str | bytes] = deque()
        self._held_bytes = 0
        self._dropped = 0

    def _is_open(self) -> bool:
        ws = self.ws
        return ws is not None and ws.protocol is not None and ws.close_code is None

    def handle_incoming_message(self, message: str) -> None:
        """Sends to the gateway; while a (re)connect is under way the message is held and sent once it succeeds
        (jupyter_server drops it when that connect attempt fails; a later attempt sends it here)."""
        if self.ws is None:
            if not self.disconnected:
                self._hold(message)
            return
        self._write_message(message)

    def _write_message(self, message):
        """Sends to the gateway, or holds the message while the WebSocket is closed."""
        if self.disconnected:
            return
        if self._held or not self._is_open():
            self._hold(message)
            return
        try:
            self.ws.write_message(message)
        except tornado_websocket.WebSocketClosedError:
            self._hold(message)
        except Exception as e:  # what jupyter_server does for other errors
            self.log.error(f"Exception writing message to websocket: {e}")

    def _hold(self, message) -> None:
        size = len(message)
        if len(self._held) >= MAX_HELD_MESSAGES or self._held_bytes + size > MAX_HELD_BYTES:
            self._dropped += 1
            if self._dropped == 1:
                self.log.warning(
                    "Gateway away too long: dropping messages for kernel %s (more than %d held)",
                    self.kernel_id, MAX_HELD_MESSAGES)
            return
        if not self._held:
            self.log.info("Gateway connection closed: holding messages for kernel %s until it is re-opened",
                          self.kernel_id)
        self._held.append(message)
        self._held_bytes += size

    def _connection_done(self, fut):
        super()._connection_done(fut)
        if self.disconnected and not fut.cancelled() and fut.exception() is None:
            # The notebook went away while this connect was under way: jupyter_server 2.x neither keeps nor closes
            # the WebSocket that then opens. Left open, the gateway counts it as the newest connection of the
            # session and sends it the replies meant for the notebook's next connection (which then never sees
            # its kernel_info_reply, and JupyterLab runs nothing).
            fut.result().close()
            return
        if self.disconnected or not self._is_open() or not self._held:
            return
        sent = 0
        while self._held and self._is_open():
            message = self._held[0]
            try:
                self.ws.write_message(message)
            except tornado_websocket.WebSocketClosedError:
                break  # closed again: kept for the next connection
            self._held.popleft()
            self._held_bytes -= len(message)
            sent += 1
        self.log.info("Gateway connection re-opened: sent %d held messages for kernel %s", sent, self.kernel_id)
        self._dropped = 0

    def disconnect(self):
        self._held.clear()
        self._held_bytes = 0
        future = getattr(self, "ws_future", None)
        if self.ws is None and future is not None and not future.done():
            # jupyter_server cancels a pending connect here, which does not stop tornado's handshake: the WebSocket
            # then opens unreachable and stays open. Let it finish instead; _connection_done closes it.
            self.disconnected = True
            return
        super().disconnect()
