"""``python -m bench.profile``: where one webhook's time goes, before changing anything.

Paying journeys run inside this process against a private PostgreSQL schema, under
pyinstrument (a statistical profiler, so the figures are not skewed by tracing overhead); its
report goes to ``--out`` as HTML and the top of the call tree to stderr. Then one journey is
replayed with every SQL statement listed under the webhook that sent it: the first thing to
read when queries per webhook go up.
"""

from __future__ import annotations

import argparse
import sys

from pyinstrument import Profiler

from bench import accounts, options
from bench.accounts import JOURNEY, phone_for
from bench.inprocess import statements
from ivr import migrate
from ivr.channels.services import Services, checked_settings
from ivr.simulator.emulator import Simulator, flask_transport, keys_from
from ivr.web.factory import create_app


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--journeys", type=int, default=100, help="paying journeys profiled")
    options.add_common(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not options.ready(args):
        return 2
    with migrate.private_schema(args.database_url, "ivr_profile") as url:
        overrides = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
        accounts.load(overrides, args.out / "accounts.csv", 0, args.journeys + 2)
        services = Services.build(checked_settings(overrides=overrides))
        app = create_app(services=services)
        settings, engine = services.settings, services.engine
        trace: list[tuple[str, list[str]]] = []
        send = flask_transport(app.test_client())

        def traced(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
            with statements(engine) as sent:
                answer = send(path, form, signature)
            trace.append((path, sent))
            return answer

        Simulator.signing_as(settings, traced).call(
            keys_from(list(JOURNEY)), caller=phone_for(0)
        )  # warms caches too
        profiler = Profiler(interval=0.0005)
        with profiler:
            for index in range(1, args.journeys + 1):
                Simulator.signing_as(settings, send).call(
                    keys_from(list(JOURNEY)), caller=phone_for(index)
                )
        services.close()
    report = args.out / "profile.html"
    report.write_text(profiler.output_html())
    print(profiler.output_text(color=False, show_all=False), file=sys.stderr)
    for path, sent in trace:
        print(f"{path}  ({len(sent)} statements)")
        for statement in sent:
            print(f"    {statement}")
    total = sum(len(sent) for _, sent in trace)
    print(f"{total} statements in {len(trace)} webhooks; profile: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
