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


# Requests that change nothing worth keeping are not replayed. Receiving from
# a queue only hides messages for a while (and a long poll would make the
# replay wait); messages still on a queue come back at the next start.
READ_ONLY_TARGETS = (
    "DynamoDB_20120810.GetItem",
    "DynamoDB_20120810.BatchGetItem",
    "DynamoDB_20120810.Query",
    "DynamoDB_20120810.Scan",
    "DynamoDB_20120810.Describe",
    "DynamoDB_20120810.List",
    "AmazonSQS.ReceiveMessage",
    "AmazonSQS.ChangeMessageVisibility",
    "AmazonSQS.GetQueue",
    "AmazonSQS.ListQueues",
    "AWSSecretsManager.GetSecretValue",
)


def repair_recording(state_file: str) -> None:
    """Splits rows that hold two records into one row each.

    moto's recorder writes a record and its newline in two writes, and a
    record over 8 KB bypasses the file buffer: two requests recorded at once
    could leave two records on one row, which the replay cannot read. Recording
    is now locked (below); this mends files written before that. A row that
    still cannot be read (a torn write when the process was killed) is dropped
    and reported.
    """
    import json

    decoder = json.JSONDecoder()
    rows: list[str] = []
    changed = dropped = 0
    with open(state_file, encoding="utf-8") as recording:
        for line in recording:
            line = line.strip()
            if not line:
                changed += 1  # a merged row's second newline
                continue
            position, found = 0, 0
            while position < len(line):
                try:
                    _, end = decoder.raw_decode(line, position)
                except ValueError:
                    dropped += 1
                    break
                rows.append(line[position:end])
                found += 1
                position = end
                while position < len(line) and line[position].isspace():
                    position += 1
            changed += found > 1
    if changed or dropped:
        with open(state_file, "w", encoding="utf-8") as recording:
            recording.writelines(row + "\n" for row in rows)
        print(
            f"emulator state: split {changed} merged rows, dropped {dropped} unreadable rows",
            file=sys.stderr,
            flush=True,
        )


def restore_and_record(state_file: str, endpoint: str) -> None:
    """Replays the recorded changes of earlier runs, then records new ones."""
    from moto.moto_api import recorder
    from moto.moto_api._internal.recorder.models import Recorder

    original_record = Recorder._record_request
    # One record at a time: the server answers on several threads.
    record_lock = threading.Lock()

    def record_changes_only(self, request, body=None):  # type: ignore[no-untyped-def]
        target = request.headers.get("X-Amz-Target", "")
        if request.method in ("GET", "HEAD") or target.startswith(READ_ONLY_TARGETS):
            return
        with record_lock:
            original_record(self, request, body)

    Recorder._record_request = record_changes_only  # type: ignore[method-assign]
    if os.path.exists(state_file) and os.path.getsize(state_file) > 0:
        repair_recording(state_file)
        recorder.replay_recording(target_host=endpoint)
    recorder.start_recording()


def serialize_dynamodb() -> None:
    """Makes each DynamoDB request atomic, as DynamoDB is per item.

    moto's server answers requests on several threads, and its DynamoDB
    backend applies an UpdateItem as read-modify-write without a lock: two
    concurrent `ADD` updates of one item could lose one. One lock around
    DynamoDB requests (Python runs one thread at a time anyway) restores
    DynamoDB's guarantee; SQS long polls are unaffected.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original_call_action = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        with lock:
            return original_call_action(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def one_service_model_data() -> None:
    """`GET /moto-api/data.json?service=ses` dumps one service's models.

    The full dump walks every model of every service and fails when another
    request changes a DynamoDB item meanwhile (its keys are not JSON); the
    devstack's outbox needs SES's sent messages only.
    """
    import json
    from urllib.parse import parse_qs, urlparse

    from moto.moto_api._internal.responses import MotoAPIResponse

    original = MotoAPIResponse.model_data

    def model_data(self, request, full_url, headers):  # type: ignore[no-untyped-def]
        wanted = parse_qs(urlparse(full_url).query).get("service")
        if not wanted:
            return original(self, request, full_url, headers)
        from moto.core.model_instances import model_data as models

        results: dict = {}
        for service in wanted:
            results[service] = {}
            for name, model in sorted(models.get(service, {}).items()):
                entries = []
                for instance in list(model.instances_tracked):
                    entry = {}
                    for attr in dir(instance):
                        if attr.startswith("_"):
                            continue
                        try:
                            value = getattr(instance, attr)
                            json.dumps(value)
                        except (TypeError, AttributeError, ValueError):
                            continue
                        entry[attr] = value
                    entries.append(entry)
                results[service][name] = entries
        return 200, {"Content-Type": "application/json"}, json.dumps(results)

    MotoAPIResponse.model_data = model_data  # type: ignore[method-assign]


def count_operations(stats_file: str) -> None:
    """Counts each operation's requests and CPU time (the request thread's),
    written as JSON to `<stats_file>.<pid>` on SIGUSR1 and at exit: where the
    emulator's time goes in a benchmark (docs/performance.md)."""
    import atexit
    import json

    from moto.server import DomainDispatcherApplication

    stats: dict[str, list] = {}
    lock = threading.Lock()
    original = DomainDispatcherApplication.__call__

    def call(self, environ, start_response):  # type: ignore[no-untyped-def]
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            # Small and large requests of one operation (a 25-lead batch, a 25-claim batch) apart.
            operation = f"{target} {int(environ.get('CONTENT_LENGTH') or 0) // 8192 * 8} KB+"
        else:
            operation = f"{environ.get('REQUEST_METHOD', '')} (S3 or moto API)"
        started = time.thread_time()
        try:
            return original(self, environ, start_response)
        finally:
            spent = time.thread_time() - started
            with lock:
                entry = stats.setdefault(operation, [0, 0.0])
                entry[0] += 1
                entry[1] += spent

    def dump(*_: object) -> None:
        with lock:
            table = {op: {"requests": n, "cpu_seconds": round(cpu, 3)} for op, (n, cpu) in stats.items()}
        with open(f"{stats_file}.{os.getpid()}", "w", encoding="utf-8") as out:
            json.dump(table, out, indent=1, sort_keys=True)

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR1, dump)
    atexit.register(dump)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    parser.add_argument(
        "--state-file",
        help="keep the emulator's state across runs: replay this file at start, then append every change to it",
    )
    args = parser.parse_args()
    if args.state_file:
        os.environ["MOTO_RECORDER_FILEPATH"] = args.state_file

    # Region and fake credentials for anything moto itself signs.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

    serialize_dynamodb()
    one_service_model_data()
    if os.environ.get("CC_EMULATOR_OP_STATS"):
        count_operations(os.environ["CC_EMULATOR_OP_STATS"])
    from moto.server import ThreadedMotoServer

    # moto binds in its server thread, where a failure would go unnoticed
    # (and the replay below would then go to whoever holds the port).
    if args.port != 0:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((args.host, args.port))
            except OSError as err:
                print(f"cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr, flush=True)
                return 2
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    if args.state_file:
        restore_and_record(args.state_file, f"http://{host}:{port}")
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
