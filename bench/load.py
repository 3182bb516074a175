"""The load generator: simulated callers in a separate process, over loopback.

Each caller is an :class:`ivr.simulator.emulator.Simulator` (it signs every request exactly like
Twilio
and follows the TwiML) on its own keep-alive ``http.client`` connection. ``saturation`` callers
send each webhook as soon as the previous answer arrives; ``paced`` callers wait as a person
would (:mod:`bench.speech`) while the number of simultaneous calls steps up. Every loop is
bounded by accounts, journeys and time. Run by :func:`run`; prints one JSON result on stdout.
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench import speech
from bench.accounts import JOURNEY, phone_for
from bench.server import ROOT
from bench.stats import summary
from ivr.simulator.emulator import Simulator, WebhookRefusedError, keys_from

REQUEST_TIMEOUT_S = 30
MAX_ERRORS_KEPT = 5
CALL_FAILURES = (WebhookRefusedError, OSError, http.client.HTTPException, ET.ParseError)


class StoppedError(Exception):
    """The run is over: the caller drops the call where it is."""


class Tally:
    """Webhook latencies and call outcomes from every caller thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[float, float, float]] = []  # (sent, done, latency ms)
        self.journeys: list[tuple[float, bool]] = []  # (ended, paid)
        self.errors: list[str] = []
        self.replays = 0
        self.server_errors = 0

    def webhook(self, sent: float, done: float, status: int) -> None:
        with self.lock:
            self.samples.append((sent, done, (done - sent) * 1000))
            self.server_errors += status >= 500

    def replayed(self, identical: bool) -> None:
        with self.lock:
            self.replays += 1
            if not identical:
                self.errors.append("a replayed webhook got a different answer")

    def journey(self, paid: bool) -> None:
        with self.lock:
            self.journeys.append((time.perf_counter(), paid))

    def error(self, error: BaseException) -> None:
        with self.lock:
            self.errors.append(f"{type(error).__name__}: {error}"[:300])


class Accounts:
    """Hands each journey an account of its own, until the range or the journey cap runs out."""

    def __init__(self, start: int, count: int) -> None:
        self.lock = threading.Lock()
        self.next, self.end = start, start + count

    def take(self) -> int | None:
        with self.lock:
            if self.next >= self.end:
                return None
            self.next += 1
            return self.next - 1


class Line:
    """One caller's connection, used as the simulator's transport."""

    def __init__(
        self,
        base_url: str,
        tally: Tally,
        stop: threading.Event,
        paced: bool,
        replay_every: int = 0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"load goes only to http://127.0.0.1:PORT, not {base_url}")
        self.connection = http.client.HTTPConnection("127.0.0.1", parts.port, REQUEST_TIMEOUT_S)
        self.tally, self.stop, self.paced = tally, stop, paced
        self.previous: str | None = None
        self.replay_every, self.sent = replay_every, 0

    def __call__(self, path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        if self.paced and self.previous is not None:
            self.stop.wait(speech.pause_before(self.previous, form))
        if self.stop.is_set():
            raise StoppedError
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        status, body = self._post(path, form, headers)
        self.sent += 1
        if self.replay_every and self.sent % self.replay_every == 0:
            # Twilio's retry of the same webhook: it must get the same answer, byte for byte.
            again = self._post(path, form, {**headers, "I-Twilio-Idempotency-Token": "retry"})
            self.tally.replayed(again == (status, body))
        self.previous = body
        return status, body

    def _post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        sent = time.perf_counter()
        self.connection.request("POST", path, urlencode(form), headers)
        reply = self.connection.getresponse()
        body = reply.read().decode()
        self.tally.webhook(sent, time.perf_counter(), reply.status)
        return reply.status, body


def caller(spec: dict[str, Any], accounts: Accounts, tally: Tally, stop: threading.Event) -> None:
    """Place journeys one after another until told to stop or out of accounts."""
    line = Line(
        spec["base_url"],
        tally,
        stop,
        paced=spec["mode"] == "paced",
        replay_every=spec.get("replay_every", 0),
    )
    simulator = Simulator(
        line,
        public_base_url=spec["base_url"],
        auth_token=spec["auth_token"],
        account_sid=spec["account_sid"],
    )
    try:
        if stop.wait(spec.get("start_delay_s", 0)):
            return
        while (index := accounts.take()) is not None:
            line.previous = None
            try:
                record = simulator.call(keys_from(list(JOURNEY)), caller=phone_for(index))
            except StoppedError:
                return
            except CALL_FAILURES as error:
                tally.error(error)
                line.connection.close()  # the next request starts on a clean connection
                continue
            tally.journey(paid="confirmation number" in record.text)
    finally:
        line.connection.close()


def _start(spec: dict[str, Any], *args: Any, delay: float = 0) -> threading.Thread:
    thread = threading.Thread(target=caller, args=({**spec, "start_delay_s": delay}, *args))
    thread.start()
    return thread


def _progress(line: str) -> None:
    print(f"    {line}", file=sys.stderr, flush=True)


def saturation(spec: dict[str, Any]) -> dict[str, Any]:
    """As many webhooks as ``threads`` back-to-back callers can get answered."""
    tally, stop = Tally(), threading.Event()
    accounts = Accounts(spec["accounts_start"], spec["accounts_count"])
    threads = [_start(spec, accounts, tally, stop) for _ in range(spec["threads"])]
    stop.wait(spec["warmup_s"])
    begin = time.perf_counter()
    deadline = begin + spec["duration_s"]
    while any(t.is_alive() for t in threads) and time.perf_counter() < deadline:
        stop.wait(min(1.0, max(0.0, deadline - time.perf_counter())))
        _progress(f"{time.perf_counter() - begin:4.1f}s  {len(tally.samples)} webhooks")
    end = time.perf_counter()
    stop.set()
    for thread in threads:
        thread.join()
    latencies = [ms for sent, done, ms in tally.samples if sent >= begin and done <= end]
    seconds = end - begin
    journeys = [paid for ended, paid in tally.journeys if begin <= ended <= end]
    return {
        "seconds": seconds,
        "webhooks_sent": len(tally.samples),  # warm-up and replays too, for CPU per webhook
        "webhooks_per_s": len(latencies) / seconds,
        "calls_per_s": len(journeys) / seconds,
        "journeys": len(journeys),
        "paid": sum(journeys),
        "latency_ms": summary(latencies),
        "errors": len(tally.errors),
        "first_errors": tally.errors[:MAX_ERRORS_KEPT],
        "replays": tally.replays,
        "server_errors": tally.server_errors,
    }


def paced(spec: dict[str, Any]) -> dict[str, Any]:
    """Step simultaneous human-paced calls up until p99 passes the limit (or steps run out).

    Calls carry on across steps, so each step sees a realistic mix of journey stages; new
    callers join spread over the first part of their step rather than all at once.
    """
    tally, stop = Tally(), threading.Event()
    accounts = Accounts(spec["accounts_start"], spec["accounts_count"])
    threads: list[threading.Thread] = []
    steps = []
    for callers in spec["steps"]:
        stagger = spec["step_s"] / 2
        threads += [
            _start(spec, accounts, tally, stop, delay=random.uniform(0, stagger))  # noqa: S311
            for _ in range(callers - len(threads))
        ]
        begin = time.perf_counter()
        stop.wait(spec["step_s"])
        end = time.perf_counter()
        latencies = [ms for sent, _done, ms in tally.samples if begin <= sent < end]
        steps.append({"callers": callers, "latency_ms": summary(latencies)})
        step = steps[-1]["latency_ms"]
        _progress(
            f"{callers:4d} calls  {step['count']:5d} webhooks  p50 {step['p50']:6.1f}  "
            f"p95 {step['p95']:6.1f}  p99 {step['p99']:6.1f} ms"
        )
        if step["p99"] > spec["limit_ms"]:
            break
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "steps": steps,
        "journeys": len(tally.journeys),
        "errors": len(tally.errors),
        "first_errors": tally.errors[:MAX_ERRORS_KEPT],
    }


MODES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "saturation": saturation,
    "paced": paced,
}


def run(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run the load generator in its own process (its own GIL, as Twilio is its own host)."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load"],
        input=json.dumps(spec),
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        timeout=timeout_s,
        check=True,
        start_new_session=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def main() -> None:
    spec = json.load(sys.stdin)
    json.dump(MODES[spec["mode"]](spec), sys.stdout)


if __name__ == "__main__":
    main()
