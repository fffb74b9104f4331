"""The `forebyg` command line (DESIGN §5). Parses, calls the application, presents."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

from application.app import Forebyg
from application.base import today_in_denmark
from application.bootstrap import build_application, migrate
from application.demo import DEMO_PASSWORD, ORGS, USERS, build_demo
from application.errors import ApplicationError, NotFoundError
from application.settings import Settings
from domain.errors import DomainError
from domain.values import ISO_DATE
from interfaces import logs, timeline


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
    if not ISO_DATE.fullmatch(value):
        raise UsageError(f"{what}: {value!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def open_app(settings: Settings, today: date | None = None, *, cached_aggregates: int = 0) -> Forebyg:
    clock = today_in_denmark if today is None else (lambda: today)
    app = build_application(settings, clock=clock, cached_aggregates=cached_aggregates)
    app.check_ready()
    return app


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    sealed = migrate(settings)
    print(f"Forebyg tables are ready in {settings.store_name}")
    if sealed:
        print(f"sealed the texts of {sealed} forum event(s) that an earlier version stored in clear")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    today = parse_date(args.today, "--today") if args.today else today_in_denmark()
    migrate(settings)
    app = open_app(settings, today)
    if app.recorder.max_notification_id():
        if args.if_empty:
            print(f"The store ({settings.store_name}) already holds data; serving it as it is.")
            return 0
        print(
            f"The store ({settings.store_name}) already holds data; "
            "the demo municipality is built only into an empty store.",
            file=sys.stderr,
        )
        print(f"({rebuild_hint(settings)})", file=sys.stderr)
        return 1
    summary = build_demo(app, today=today, cases=args.cases, seed=args.seed)
    print(
        f"Demo municipality built into {settings.store_name} as of {today}: {len(summary.forums)} forums, "
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
    print(f"\nLogins (password {DEMO_PASSWORD}):")
    for username, org_slug, role in USERS:
        print(f"  {username:<12} {role:<12} {org_slug}")
    example = summary.reopened[0] if summary.reopened else summary.cases[0]
    print(f"\nTry: forebyg replay {example}")
    return 0


def rebuild_hint(settings: Settings) -> str:
    if settings.uses_postgres:
        return "Name an empty schema with ?schema= in FOREBYG_DATABASE_URL to rebuild it."
    return f"Remove {settings.sqlite_path} or use another FOREBYG_DATA_DIR to rebuild it."


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    case_id = parse_uuid(args.case_id, "CASE_ID")
    as_of = parse_instant(args.as_of) if args.as_of else None
    app = open_app(settings)
    personal = bool(args.purpose)
    operator = f"cli:{getpass.getuser()}"
    history = app.get_case_history(case_id, as_of=as_of, purpose=args.purpose, operator=operator)
    if not history:
        print(f"Case {case_id} had not been referred by {as_of.isoformat() if as_of else 'now'}.")
        return 0
    case = app.get_case_as_of(case_id, as_of) if as_of else app.get_case(case_id, operator=operator)
    assert case is not None
    print(timeline.render(case, history, personal=personal))
    return 0


def cmd_orgs_add(settings: Settings, args: argparse.Namespace) -> int:
    app = open_app(settings)
    app.add_organisation(args.slug, name=args.name, kind=args.kind, email=args.email)
    print(f"Organisation {args.slug} ({args.kind}) registered")
    return 0


def cmd_users_add(settings: Settings, args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise UsageError("--password-stdin is required (passwords are never taken from arguments)")
    password = sys.stdin.readline().rstrip("\r\n")
    app = open_app(settings)
    app.add_user(args.username, org=args.org, role=args.role, password=password, email=args.email)
    print(f"User {args.username} ({args.role} at {args.org}) created")
    return 0


def cmd_users_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    app = open_app(settings)
    app.deactivate_user(args.username, operator=f"cli:{getpass.getuser()}")
    print(f"User {args.username} deactivated: no more sign-ins, and every session has ended")
    return 0


def cmd_users_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    if not args.password_stdin:
        raise UsageError("--password-stdin is required (passwords are never taken from arguments)")
    password = sys.stdin.readline().rstrip("\r\n")
    app = open_app(settings)
    app.reset_password(args.username, password, operator=f"cli:{getpass.getuser()}")
    print(f"Password of {args.username} reset; every session of theirs has ended")
    return 0


def cmd_users_sign_out(settings: Settings, args: argparse.Namespace) -> int:
    app = open_app(settings)
    app.sign_out_user(args.username, operator=f"cli:{getpass.getuser()}")
    print(f"User {args.username} signed out: every session of theirs has ended")
    return 0


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    actions = {
        "add": cmd_users_add,
        "deactivate": cmd_users_deactivate,
        "reset-password": cmd_users_reset_password,
        "sign-out": cmd_users_sign_out,
    }
    return actions[args.users_command](settings, args)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from interfaces.web.server import serve

    return serve(settings, workers=args.workers, host=args.host)


def cmd_projections(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from application.readmodels.follow import follow

    app = open_app(settings)
    if not args.rebuild and app.workflow.rebuild_if_redefined():
        print("read models rebuilt: their definition (e.g. a reminder horizon) changed")
    if args.rebuild:
        applied = app.workflow.rebuild()
        print(f"read models rebuilt from the log: {applied} events")
    if args.once:
        applied = app.workflow.catch_up(resume=True)
        print(f"read models caught up: {applied} events applied, position {app.workflow.position()}")
        return 0
    if args.rebuild:
        return 0
    logs.configure()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    follow(app, stop)
    app.close()
    return 0


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    from interfaces import scheduler

    logs.configure()
    return scheduler.run(settings, once=args.once)


def cmd_erase(settings: Settings, args: argparse.Namespace) -> int:
    subject_id = parse_uuid(args.subject_id, "SUBJECT_ID")
    app = open_app(settings)
    recorded = app.erase_subject(subject_id, reason=args.reason, operator=f"cli:{getpass.getuser()}")
    print(
        f"Subject {subject_id} erased: its key is destroyed; {recorded.version} case(s) now replay "
        "with personal fields reading as erased."
    )
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from application.backup import backup

    manifest = backup(settings, Path(args.out))
    print(
        f"Backed up {manifest.events} event(s) (last notification id {manifest.last_notification_id})"
        f" of the {manifest.store} store to {args.out}; sha256 {manifest.sha256}"
    )
    if settings.erasure_ledger is None:
        print(
            "warning: FOREBYG_ERASURE_LEDGER is not set: a restore of this backup cannot re-apply"
            " erasures made after it (see docs/operations.md)",
            file=sys.stderr,
        )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from application.backup import restore

    report = restore(settings, Path(args.file), replace=args.replace)
    manifest = report.manifest
    print(
        f"Restored {manifest.events} event(s) (last notification id {manifest.last_notification_id})"
        f" from the backup of {manifest.created_at} (Forebyg {manifest.forebyg_version});"
        f" re-applied {report.erasures_reapplied} erasure(s) from the erasure ledger;"
        f" ended {report.sessions_ended} session(s)"
    )
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from application.exchange import ExportSummary, export_lines

    forum_id = parse_uuid(args.forum, "--forum") if args.forum else None
    if args.purpose is not None and not args.purpose.strip():
        raise UsageError("--purpose: state why the personal data is exported")
    app = open_app(settings)
    summary = ExportSummary()
    lines = export_lines(
        app, forum_id=forum_id, purpose=args.purpose, operator=f"cli:{getpass.getuser()}", summary=summary
    )
    first = next(lines)  # an unknown forum is refused before the file is created
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "w", encoding="utf-8") as file:
        file.write(first)
        file.writelines(lines)
    partial.replace(out)  # a file that is there is whole
    personal = (
        "with personal data (the export is in the access log)" if args.purpose else "without personal data"
    )
    print(
        f"Exported {summary.facts} facts ({summary.forums} forums, {summary.cases} cases) {personal}"
        f" to {out} in {summary.seconds:.1f} s"
    )
    return 0


class Progress:
    """A progress bar on standard error, only when it is a terminal."""

    def __init__(self, total_lines: int) -> None:
        self.total = max(total_lines, 1)
        self.shown = sys.stderr.isatty()

    def __call__(self, stage: str, line: int) -> None:
        if not self.shown:
            return
        if line < 0:
            sys.stderr.write("\n")
            return
        done = min(line / self.total, 1.0)
        bar = "#" * int(done * 30)
        sys.stderr.write(f"\r{stage:<9} [{bar:<30}] {line}/{self.total} lines")
        sys.stderr.flush()


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from application.exchange import CACHED_AGGREGATES, run_import

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"FILE: {args.file} is not a file")
    app = open_app(settings, cached_aggregates=CACHED_AGGREGATES)
    total = 0
    if sys.stderr.isatty():
        with open(path, "rb") as file:
            total = sum(1 for _ in file)

    def lines() -> Iterator[bytes]:
        with open(path, "rb") as file:
            yield from file

    summary = run_import(app, lines, dry_run=args.dry_run, progress=Progress(total))
    app.close()
    if summary.problems:
        for problem in summary.problems:
            print(f"{path}: {problem}", file=sys.stderr)
        if summary.more_problems:
            print(f"{path}: ... and {summary.more_problems} more problem(s)", file=sys.stderr)
        print(f"forebyg import: {path} has problems; nothing was recorded", file=sys.stderr)
        return 1
    if args.dry_run:
        print(
            f"{path} is sound: {summary.facts} facts ({summary.forums} forums, {summary.cases} cases)"
            f" would be recorded; nothing was recorded (--dry-run) ({summary.seconds:.1f} s)"
        )
        return 0
    print(
        f"Imported {path}: {summary.forums} forums, {summary.cases} cases, {summary.events} events recorded"
        f" ({summary.facts} facts in the file) in {summary.seconds:.1f} s"
    )
    return 0


def cmd_reapply_erasures(settings: Settings, _: argparse.Namespace) -> int:
    app = build_application(settings)  # not ready yet, by definition: no check_ready
    try:
        reapplied = app.reapply_erasures()
    finally:
        app.close()
    print(f"re-applied {len(reapplied)} erasure(s) from the erasure ledger")
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
    serve = commands.add_parser("serve", help="serve the web app (gunicorn; FOREBYG_PORT, default 8000)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default: by store)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    projections = commands.add_parser("projections", help="keep the read models current (follows new events)")
    projections.add_argument("--once", action="store_true", help="catch up and exit")
    projections.add_argument(
        "--rebuild", action="store_true", help="drop and rebuild every read model from the log"
    )
    erase = commands.add_parser("erase", help="erase a data subject's personal data (crypto-shredding)")
    erase.add_argument("subject_id", metavar="SUBJECT_ID")
    erase.add_argument(
        "--reason",
        default="erasure requested by the data-protection officer",
        help="the legal reason, recorded with the erasure",
    )
    scheduler = commands.add_parser("scheduler", help="deliver reminders as they fall due")
    scheduler.add_argument("--once", action="store_true", help="one dispatch, then exit")
    export = commands.add_parser("export", help="write the store's history (or one forum's) to a file")
    export.add_argument("--forum", metavar="ID", help="only this forum and its cases")
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write (docs/exchange.md)")
    export.add_argument("--purpose", help="why personal data is exported (includes it; logged)")
    imp = commands.add_parser("import", help="record an exported file through the model's commands")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check the whole file, record nothing")
    orgs = commands.add_parser("orgs", help="manage organisations").add_subparsers(
        dest="orgs_command", required=True, metavar="ACTION"
    )
    orgs_add = orgs.add_parser("add", help="register an organisation")
    orgs_add.add_argument("slug", metavar="SLUG")
    orgs_add.add_argument("--name", required=True)
    orgs_add.add_argument(
        "--kind", required=True, help="municipality | housing_social | police | civil_society | other"
    )
    orgs_add.add_argument("--email")
    users = commands.add_parser("users", help="manage user accounts").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    users_add = users.add_parser("add", help="create a user; the password is read from standard input")
    users_add.add_argument("username", metavar="USERNAME")
    users_add.add_argument("--org", required=True, metavar="SLUG")
    users_add.add_argument("--role", required=True, help="coordinator | member | evaluator | dpo | admin")
    users_add.add_argument("--password-stdin", action="store_true")
    users_add.add_argument("--email")
    deactivate = users.add_parser(
        "deactivate", help="deactivate a user: no more sign-ins, every session ends at once"
    )
    deactivate.add_argument("username", metavar="USERNAME")
    reset = users.add_parser(
        "reset-password", help="set a user's new password (read from standard input); their sessions end"
    )
    reset.add_argument("username", metavar="USERNAME")
    reset.add_argument("--password-stdin", action="store_true")
    sign_out = users.add_parser("sign-out", help="end every session of a user")
    sign_out.add_argument("username", metavar="USERNAME")
    backup = commands.add_parser("backup", help="write a consistent copy of the whole store to a file")
    backup.add_argument("--out", required=True, metavar="FILE")
    restore = commands.add_parser(
        "restore", help="restore a backup into an empty store, then re-apply the ledger's erasures"
    )
    restore.add_argument("file", metavar="FILE")
    restore.add_argument("--replace", action="store_true", help="replace a store that holds events")
    commands.add_parser(
        "reapply-erasures", help="apply the erasure ledger's erasures that the store lacks (after a restore)"
    )
    return parser


HANDLERS = {
    "backup": cmd_backup,
    "restore": cmd_restore,
    "reapply-erasures": cmd_reapply_erasures,
    "migrate": cmd_migrate,
    "demo": cmd_demo,
    "replay": cmd_replay,
    "serve": cmd_serve,
    "projections": cmd_projections,
    "scheduler": cmd_scheduler,
    "erase": cmd_erase,
    "export": cmd_export,
    "import": cmd_import,
    "orgs": cmd_orgs_add,
    "users": cmd_users,
}


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
