"""``python -m bench [--quick]``: every measurement in one run, a summary table at the end.
``python -m bench --soak SECONDS``: only the soak, exiting 1 unless it was clean (CI runs it).

Progress goes to stderr, results to stdout, the plot to ``--out``. gunicorn processes and the
PostgreSQL schemas are cleaned up on errors, Ctrl-C and SIGTERM too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from bench import (
    accounts,
    cpu,
    database,
    importing,
    inprocess,
    load,
    options,
    report,
    speech,
)
from bench.plan import FULL, QUICK, SMOKE, Plan, soak_calls, soak_only
from bench.server import APP, BASELINE, Server, gunicorn
from ivr import migrate
from ivr.config import DEV_ACCOUNT_SID, load_settings

LOAD_GRACE_S = 90  # on top of a load run's own duration, before it counts as hung
REPLAY_EVERY = 5  # in the soak, every 5th webhook is sent twice, as Twilio retries
SOAK_FAILURES = {  # any of these above 0 fails a soak
    "errors": "errors",
    "server_errors": "5xx",
    "accounts_paid_twice": "accounts paid twice",
    "charges_without_payment": "charges without a payment",
}


class Progress:
    """Timestamped progress lines on stderr."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


class AccountRanges:
    """Hands out disjoint ranges of loaded accounts: each paid journey needs its own."""

    def __init__(self, loaded: int) -> None:
        self.next, self.loaded = 0, loaded

    def take(self, count: int) -> tuple[int, int]:
        start, count = self.next, max(0, min(count, self.loaded - self.next))
        self.next += count
        return start, count

    def grow(self, loaded: int) -> None:
        """Accounts were added after the last ones: hand out only those from now on."""
        self.next, self.loaded = self.loaded, loaded


def _seconds(text: str) -> float:
    seconds = float(text)
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small scale, under a minute")
    size.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    size.add_argument(
        "--soak",
        type=_seconds,
        metavar="SECONDS",
        help=f"only the soak, for SECONDS: twice the saturation load with every {REPLAY_EVERY}th "
        "webhook replayed, then the ledger check; exit 1 on any error, 5xx, replay answered "
        "differently or account paid twice",
    )
    options.add_common(parser)
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers (default: 2 x CPUs + 1; 1 with --smoke)"
    )
    return parser.parse_args(argv)


def chosen_plan(args: argparse.Namespace) -> Plan:
    if args.soak:
        return soak_only(args.soak)
    return SMOKE if args.smoke else QUICK if args.quick else FULL


def load_spec(
    mode: str, base_url: str, plan: Plan, accounts_range: tuple[int, int], **extra: Any
) -> dict[str, Any]:
    settings = load_settings()
    return {
        "mode": mode,
        "base_url": base_url,
        "auth_token": settings.TWILIO_AUTH_TOKEN,
        "account_sid": settings.TWILIO_ACCOUNT_SID or DEV_ACCOUNT_SID,
        "accounts_start": accounts_range[0],
        "accounts_count": accounts_range[1],
        "warmup_s": plan.warmup_s,
        **extra,
    }


def saturate(
    server: Server,
    plan: Plan,
    ranges: AccountRanges,
    threads: int,
    journeys: int | None = None,
    **soak: Any,
) -> dict[str, Any]:
    """Back-to-back callers against ``server`` (at most ``journeys`` calls, one account each),
    with the CPU each process used per webhook."""
    duration = soak.pop("duration_s", plan.saturation_s)
    spec = load_spec(
        "saturation", server.url, plan, ranges.take(journeys or plan.saturation_journeys),
        threads=threads, duration_s=duration, **soak,
    )  # fmt: skip
    with cpu.Meter(server.pid) as meter:
        result = load.run(spec, plan.warmup_s + duration + LOAD_GRACE_S)
    if meter.used is not None:
        result["cpu_ms"] = meter.used.per_webhook_ms(result["webhooks_sent"])
    return result


def measure(plan: Plan, args: argparse.Namespace, workers: int, say: Progress) -> dict[str, Any]:
    """Run every measurement of ``plan``; returns the raw results for :func:`summarize`."""
    results: dict[str, Any] = {"plan": plan, "workers": workers}
    threads = 2 * workers  # keeps every worker busy while its last answer is in flight
    with migrate.private_schema(args.database_url, "ivr_bench") as url:
        overrides = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        say(f"loading {plan.accounts} accounts")
        accounts.load(overrides, args.out / "accounts.csv", 0, plan.accounts)
        ranges = AccountRanges(plan.accounts)
        say("one journey in-process: queries per webhook, time-to-pay")
        results["journey"] = inprocess.measure(overrides, ranges.take(1)[0])
        with gunicorn(APP, overrides, workers=workers, log_path=args.out / "app.log") as app:
            say(f"saturation: app, {workers} workers, {threads} back-to-back callers")
            results["app"] = saturate(app, plan, ranges, threads)
            if plan.scale_accounts:  # the soak and the paced calls then draw on the large table
                results["scale"] = scale(plan, overrides, ranges, app, threads, say, args.out)
            results["soak"] = soak(app, url, plan, ranges, threads, say)
            say(f"concurrent calls: steps {', '.join(map(str, plan.steps))}")
            spec = load_spec(
                "paced", app.url, plan, ranges.take(ranges.loaded),
                steps=list(plan.steps), step_s=plan.step_s, limit_ms=report.LIMIT_MS,
            )  # fmt: skip
            timeout = plan.step_s * len(plan.steps) + LOAD_GRACE_S
            results["paced"] = load.run(spec, timeout)
        with gunicorn(BASELINE, overrides, workers=workers, log_path=args.out / "base.log") as bl:
            say("saturation: baseline (signature check and a fixed <Gather>)")
            results["baseline"] = saturate(bl, plan, AccountRanges(plan.accounts), threads)
    with migrate.private_schema(args.database_url, "ivr_bench") as url:
        say(f"import: ivr accounts import of {plan.import_rows} rows")
        results["import"] = importing.rows_per_second(url, plan.import_rows, args.out)
    return results


def soak(
    server: Server, url: str, plan: Plan, ranges: AccountRanges, threads: int, say: Progress
) -> dict[str, Any]:
    """Twice the saturation load (``threads`` callers) with Twilio's retries mixed in, then
    the ledger of database ``url``."""
    say(f"soak: twice the saturation load for {plan.soak_s:g}s, every {REPLAY_EVERY}th "
        "webhook replayed")  # fmt: skip
    result = saturate(
        server, plan, ranges, 2 * threads, soak_calls(plan.soak_s),
        duration_s=plan.soak_s, replay_every=REPLAY_EVERY,
    )  # fmt: skip
    return {**result, **database.payment_integrity(url)}


def soak_alone(plan: Plan, args: argparse.Namespace, workers: int, say: Progress) -> int:
    """``--soak``: the soak on a fresh schema, its row of the table and a verdict; the exit
    status is 1 unless it was clean."""
    say(f"soak alone: {workers} gunicorn workers, {2 * 2 * workers} back-to-back callers")
    with migrate.private_schema(args.database_url, "ivr_bench") as url:
        overrides = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        say(f"loading {plan.accounts} accounts")
        accounts.load(overrides, args.out / "accounts.csv", 0, plan.accounts)
        with gunicorn(APP, overrides, workers=workers, log_path=args.out / "app.log") as app:
            result = soak(app, url, plan, AccountRanges(plan.accounts), 2 * workers, say)
    problems = soak_problems(result, plan)
    print(report.table([("soak, 2x load", _soak(result))]), flush=True)
    print("soak: " + ("; ".join(problems) if problems else "clean"), flush=True)
    return 1 if problems else 0


def soak_problems(result: dict[str, Any], plan: Plan) -> list[str]:
    """What made a soak unclean (nothing: it passed)."""
    problems = [f"{result[key]} {what}" for key, what in SOAK_FAILURES.items() if result[key]]
    if result["seconds"] < 0.9 * plan.soak_s:
        problems.append(f"ended after {result['seconds']:.0f}s of {plan.soak_s:g}s")
    return problems + [f"first error: {error}" for error in result["first_errors"][:1]]


def scale(
    plan: Plan,
    overrides: dict[str, str],
    ranges: AccountRanges,
    server: Server,
    threads: int,
    say: Progress,
    out: Path,
) -> dict[str, Any]:
    """Grow the account table to ``plan.scale_accounts`` and measure again: cost per webhook
    must not grow with the table."""
    say(f"scale: loading accounts up to {plan.scale_accounts}")
    accounts.load(overrides, out / "scale.csv", plan.accounts, plan.scale_accounts - plan.accounts)
    database.analyze(overrides["DATABASE_URL"])
    ranges.grow(plan.scale_accounts)
    say("scale: one journey in-process, then saturation")
    journey = inprocess.measure(overrides, ranges.take(1)[0])
    return {"journey": journey, "app": saturate(server, plan, ranges, threads)}


def _rate(result: dict[str, Any]) -> str:
    latency = result["latency_ms"]
    return (
        f"{result['webhooks_per_s']:.1f} webhooks/s, {result['calls_per_s']:.2f} calls/s "
        f"(p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms; {result['journeys']} "
        f"calls, {result.get('paid', 0)} paid, {result['errors']} errors)"
    )


def _soak(result: dict[str, Any]) -> str:
    return (
        f"{result['webhooks_per_s']:.1f} webhooks/s, {result['replays']} replays, "
        f"{result['errors']} errors, {result['server_errors']} 5xx, "
        f"{result['accounts_paid_twice']} paid twice, "
        f"{result['charges_without_payment']} charges without a payment"
    )


def _cpu(app: dict[str, Any], baseline: dict[str, Any]) -> str:
    """CPU per webhook by process, app run then baseline run ("-" off Linux)."""
    if "cpu_ms" not in app or "cpu_ms" not in baseline:
        return "-"
    ours, base = app["cpu_ms"], baseline["cpu_ms"]
    return (
        f"app {ours['server']:.2f} + PostgreSQL {ours['postgres']:.2f} + load generator "
        f"{ours['load']:.2f} ms; baseline {base['server']:.2f} + {base['postgres']:.2f} + "
        f"{base['load']:.2f} ms"
    )


def summarize(results: dict[str, Any], plot_path: Path) -> str:
    plan: Plan = results["plan"]
    app, baseline, journey = results["app"], results["baseline"], results["journey"]
    steps = results["paced"]["steps"]
    calls, reached = report.capacity(steps)
    rows = [
        ("mode", f"{plan.name}, {results['workers']} gunicorn workers, {plan.accounts} accounts"),
        ("saturation (app)", _rate(app)),
        ("saturation (baseline)", _rate(baseline)),
        ("CPU per webhook", _cpu(app, baseline)),
        ("queries per webhook", f"mean {journey.queries_mean:.1f}, max {journey.queries_max} "
                                f"(one journey, {journey.webhooks} webhooks)"),
        ("time-to-pay", f"{journey.speech_s:.0f} s of speech at {speech.WORDS_PER_MINUTE} wpm, "
                        f"{journey.keys} keys; {journey.time_to_pay_s:.0f} s with keying and "
                        "timeouts"),
        ("import", f"{results['import']:.0f} rows/s ({plan.import_rows} rows)"),
        ("paced-call errors", str(results["paced"]["errors"])),
        ("soak, 2x load", _soak(results["soak"])),
    ]  # fmt: skip
    if "scale" in results:
        for loaded, run in ((plan.accounts, results), (plan.scale_accounts, results["scale"])):
            queries = run["journey"].queries_mean
            rows.append((f"scale, {loaded:,} accounts", f"{_rate(run['app'])}; {queries:.1f} q/wh"))
    else:
        rows.append(("scale 10k/1M", "full mode only (python -m bench)"))
    ratio = app["webhooks_per_s"] / baseline["webhooks_per_s"]
    note = "" if reached else f" (p99 stayed under {report.LIMIT_MS:.0f} ms at every step tried)"
    return "\n".join(
        [
            report.table(rows),
            *report.step_lines(steps),
            f"throughput ratio: {ratio:.2f}",
            f"concurrent calls at p99<{report.LIMIT_MS:.0f}ms: {calls}{note}",
            f"plot: {plot_path}",
        ]
    )


def _terminate(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(143)  # unwinds through every cleanup block, as Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = chosen_plan(args)
    workers = args.workers or (1 if args.smoke else 2 * (os.cpu_count() or 1) + 1)
    signal.signal(signal.SIGTERM, _terminate)
    if not options.ready(args):
        return 2
    say = Progress()
    if args.soak:
        return soak_alone(plan, args, workers, say)
    say(f"benchmark ({plan.name}); results at the end, plot in {args.out}")
    results = measure(plan, args, workers, say)
    plot_path = report.plot(
        results["paced"]["steps"],
        args.out / "latency_vs_calls.png",
        f"IVR webhook latency, {workers} gunicorn workers ({plan.name})",
    )
    print(summarize(results, plot_path), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
