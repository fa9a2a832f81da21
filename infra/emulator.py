"""Runs the pinned AWS emulator (moto server) on loopback for the local stack.

Started by the devstack and by the test harness. It prints one line,
`listening on HOST:PORT`, once it accepts requests, and exits by itself when
the process that started it goes away, so a killed test run or a closed
terminal never leaves an emulator behind.
"""

import argparse
import os
import signal
import sys
import threading
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    args = parser.parse_args()

    # Region and fake credentials for anything moto itself signs.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    try:
        server.start()
    except OSError as err:
        print(f"cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr, flush=True)
        return 2
    host, port = server.get_host_and_port()
    print(f"listening on {host}:{port}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def parent_alive() -> bool:
        # Once the parent dies this process is re-parented, so its ppid changes.
        return os.getppid() == args.parent_pid

    while not stop.is_set():
        if not parent_alive():
            break
        time.sleep(0.5)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
