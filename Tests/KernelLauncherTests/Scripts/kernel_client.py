"""A jupyter_client client for the real-launcher test, given the connection info the gateway decoded.

    kernel_client.py info CONNECTION_FILE      prints "kernel_info_reply <protocol_version>"
    kernel_client.py sleep CONNECTION_FILE BUSY_FILE
                                               runs time.sleep(60); creates BUSY_FILE once the kernel runs it, then
                                               prints "reply <status> <ename>" when the reply comes (an interrupt ends it)
    kernel_client.py shutdown CONNECTION_FILE  sends shutdown_request; prints "shutdown_reply <status>"
Every wait is bounded (30 s).
"""
import sys
import time

from jupyter_client import BlockingKernelClient


def main(command: str, connection_file: str, busy_file: str = "") -> None:
    client = BlockingKernelClient(connection_file=connection_file)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        if command == "info":
            client.kernel_info()
            reply = client.get_shell_msg(timeout=30)
            print(reply["msg_type"], reply["content"]["protocol_version"], flush=True)
        elif command == "sleep":
            msg_id = client.execute("import time; time.sleep(60)")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                message = client.get_iopub_msg(timeout=30)
                if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "execute_input":
                    # Give the kernel a moment to be inside time.sleep before the test interrupts it.
                    time.sleep(0.5)
                    with open(busy_file, "w") as busy:
                        busy.write("busy")
                    break
            reply = client.get_shell_msg(timeout=30)
            print("reply", reply["content"]["status"], reply["content"].get("ename", ""), flush=True)
        elif command == "shutdown":
            client.shutdown()
            reply = client.get_control_msg(timeout=30)
            print(reply["msg_type"], reply["content"]["status"], flush=True)
    finally:
        client.stop_channels()


if __name__ == "__main__":
    main(*sys.argv[1:4])
