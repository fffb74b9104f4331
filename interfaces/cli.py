"""The `forebyg` command line (DESIGN §5). Parses, calls the application, presents."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import UUID

from application.app import Forebyg
from application.bootstrap import build_application, migrate
from application.demo import ORGS, build_demo
from application.errors import ApplicationError, NotFoundError
from application.settings import Settings
from domain.errors import DomainError
from interfaces import timeline


class UsageError(Exception):
    """Bad input on the command line."""


def parse_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a valid id (expected a UUID)") from None


def parse_instant(value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of: {value!r} is not an ISO date or date-time") from None
    if instant.tzinfo is None:
        if len(value) == 10:  # a bare date means the end of that day
            instant = instant.replace(hour=23, minute=59, second=59, microsecond=999999)
        instant = instant.replace(tzinfo=UTC)
    return instant


def parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def open_app(settings: Settings, today: date | None = None) -> Forebyg:
    app = build_application(settings) if today is None else build_application(settings, clock=lambda: today)
    app.check_ready()
    return app


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    migrate(settings)
    where = settings.database_url.split("@")[-1] if settings.uses_postgres else settings.sqlite_path
    print(f"Forebyg tables are ready in {where}")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    today = parse_date(args.today, "--today") if args.today else date.today()
    migrate(settings)
    app = open_app(settings, today)
    if app.recorder.max_notification_id():
        print("The store already holds data; the demo municipality is built only into an empty store.")
        print(f"(Remove {settings.sqlite_path} or use another FOREBYG_DATA_DIR to rebuild it.)")
        return 0 if args.if_empty else 1
    summary = build_demo(app, today=today, cases=args.cases, seed=args.seed)
    print(
        f"Demo municipality built as of {today}: {len(summary.forums)} forums, "
        f"{len(summary.cases)} cases, {summary.meetings_held} meetings held."
    )
    print(f"Actions: {dict(summary.actions)}; closures: {dict(summary.closures)}")
    print("\nOrganisations:")
    for org in ORGS:
        print(f"  {org.slug:<24} {org.kind:<15} {org.name}")
    for forum_id in summary.forums[:5]:
        forum = app.get_forum(forum_id)
        held = sum(1 for m in forum["meetings"] if m["status"] == "held")
        print(f"\nForum {forum['name']} ({', '.join(forum['housing_areas'])}) {forum_id}")
        print(f"  members: {', '.join(forum['members'])}; meetings held: {held}")
    if args.show:
        print(f"\n{'case':<36}  {'group':<15}  {'received':<10}  {'status':<19}  actions")
        for case_id in summary.cases[: args.show]:
            case = app.get_case(case_id)
            print(
                f"{case['id']}  {case['target_group']:<15}  {case['received_on']}  "
                f"{case['status']:<19}  {len(case['actions'])}"
            )
    example = summary.reopened[0] if summary.reopened else summary.cases[0]
    print(f"\nTry: forebyg replay {example}")
    return 0


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    case_id = parse_uuid(args.case_id, "CASE_ID")
    as_of = parse_instant(args.as_of) if args.as_of else None
    app = open_app(settings)
    personal = bool(args.purpose)
    history = app.get_case_history(case_id, as_of=as_of, include_personal=personal)
    if not history:
        print(f"Case {case_id} had not been referred by {as_of.isoformat() if as_of else 'now'}.")
        return 0
    case = app.get_case_as_of(case_id, as_of) if as_of else app.get_case(case_id)
    assert case is not None
    print(timeline.render(case, history, personal=personal))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forebyg", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("migrate", help="create the tables (once, before any worker starts)")
    demo = commands.add_parser("demo", help="build the synthetic demo municipality into an empty store")
    demo.add_argument("--cases", type=int, default=40, help="number of cases (default 40)")
    demo.add_argument("--seed", type=int, default=2020, help="random seed (same seed, same history)")
    demo.add_argument("--today", help="the demo's 'today' (YYYY-MM-DD; default: today)")
    demo.add_argument("--show", type=int, default=40, metavar="N", help="list the first N cases")
    demo.add_argument("--if-empty", action="store_true", help="succeed quietly when data exists")
    replay = commands.add_parser("replay", help="print a case's timeline")
    replay.add_argument("case_id", metavar="CASE_ID")
    replay.add_argument("--as-of", metavar="ISO", help="only what had been recorded by this instant")
    replay.add_argument("--purpose", help="why you need the personal data (includes it)")
    return parser


HANDLERS = {"migrate": cmd_migrate, "demo": cmd_demo, "replay": cmd_replay}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_environ(os.environ)
        return HANDLERS[args.command](settings, args)
    except UsageError as error:
        print(f"forebyg {args.command}: {error}", file=sys.stderr)
        return 2
    except NotFoundError as error:
        print(f"forebyg {args.command}: {error}", file=sys.stderr)
        return 3
    except (DomainError, ApplicationError) as error:
        print(f"forebyg {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
