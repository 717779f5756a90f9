"""Outages: the SMTP server down for a while, then the database; the daemon must keep running,
say what is wrong once per failure, and deliver everything exactly once when it comes back.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from faults.common import Case, Progress
from faults.daemon_harness import (
    EndState,
    Publisher,
    Text,
    admin,
    count_by_path,
    drop_database,
    end_state,
    fresh_database,
    in_process_daemon,
    known_texts,
    query,
    quiet_server,
    stored_urls,
    wait_until,
)
from monitor.store import SQLITE_BUSY_TIMEOUT_MS
from tests.smtpserver import SMTPServer, free_port

GROUP = "outages"


def _pg_bin(root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The newest installed PostgreSQL's bin/ (Debian's layout, as .ci/postgres.sh finds it)."""
    versions = [p for p in root.glob("*/bin") if p.parent.name.isdigit()]
    return max(versions, key=lambda p: int(p.parent.name), default=root / "15" / "bin")


PG_BIN = _pg_bin()
RECOVERY_SECONDS = 60.0
GRACE = 1.0  # seconds after recovery in which a repeated email would show up
# An outage is a few lines in the log, not one per tick: a first line per failing job and per
# poll in flight, then a reminder a minute (monitor.scheduler.REMIND_EVERY_SECONDS).
BASE_ERROR_LINES = 12
ERROR_LINES_PER_MINUTE = 4


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    relevant, irrelevant = known_texts()
    smtp_case = _smtp_outage(
        outage=4.0 if reduced else 20.0,
        texts=relevant[:3],
        server_url=database_url,
        workdir=workdir,
        progress=progress,
    )
    runs = Runs(
        texts=_mixed(relevant[3:7], irrelevant[:4]),
        late=relevant[7] if len(relevant) > 7 else relevant[-1],
        # SQLite's lock outlasts the 30 s busy timeout at full size, so writers really fail
        outage=(4.0 if reduced else 20.0) if database_url else (4.0 if reduced else 40.0),
        workdir=workdir,
        progress=progress,
    )
    db_cases = _postgres_cases(runs) if database_url else _sqlite_cases(runs)
    return [smtp_case, *db_cases]


def _mixed(relevant: list[Text], irrelevant: list[Text]) -> list[Text]:
    return [t for pair in zip(relevant, irrelevant, strict=False) for t in pair]


# --- (a) SMTP down, then back ---------------------------------------------------------------------


def _smtp_outage(
    *, outage: float, texts: list[Text], server_url: str | None, workdir: Path, progress: Progress
) -> Case:
    server = quiet_server()
    smtp = SMTPServer()  # its port is chosen, nothing listens until the outage ends
    db = fresh_database(server_url=server_url, workdir=workdir, name="smtp-outage")
    publisher = Publisher(server=server, feeds=["/news.xml"])
    daemon = in_process_daemon(
        workdir=workdir,
        name="smtp-outage",
        db=db,
        publisher=publisher,
        smtp_url=smtp.url,
        retry_base="0.5s",
        retry_max="4s",
    )
    smtp_started = False
    try:
        daemon.wait_log("scheduler: started")
        for text in texts:
            publisher.publish(text)
        began = time.monotonic()
        progress(f"outages: SMTP down for {outage:g}s")
        wait_until(lambda: len(stored_urls(db)) == len(texts), seconds=30)
        time.sleep(max(outage - (time.monotonic() - began), 0))
        during = _alerts(db)  # one per story: near-duplicate texts would share one
        alive = daemon.alive()
        smtp.start()
        smtp_started = True
        wait_until(lambda: _all_sent(db, len(during)), seconds=RECOVERY_SECONDS)
        time.sleep(GRACE)  # room for a repeated email to show up
        code = daemon.stop()
        end = end_state(db=db, publisher=publisher, smtp=smtp)
        log = daemon.log()
    finally:
        daemon.kill()
        if smtp_started:
            smtp.stop()
        server.stop()
        drop_database(server_url=server_url, url=db)
    return _smtp_verdict(outage=outage, during=during, alive=alive, code=code, end=end, log=log)


def _alerts(db: str) -> list[tuple[str, int]]:
    return [(str(s), int(a)) for s, a in query(db, "SELECT status, attempts FROM alert")]


def _all_sent(db: str, n: int) -> bool:
    rows = _alerts(db)
    return len(rows) >= n and all(s == "sent" for s, _ in rows)


def _smtp_verdict(
    *,
    outage: float,
    during: list[tuple[str, int]],
    alive: bool,
    code: int | None,
    end: EndState,
    log: str,
) -> Case:
    attempts = [a for _, a in during]
    warnings = log.count("not delivered")
    # with back-off, far fewer tries than ticks (0.2 s) during the outage
    hammering = max(attempts, default=0) > outage / 0.2 / 3
    problems = end.problems()
    if not attempts or min(attempts) < 2:
        problems.append(f"alerts were not retried during the outage: attempts {attempts}")
    if hammering:
        problems.append(f"no back-off: {max(attempts)} attempts in {outage:g}s")
    if warnings < sum(attempts):
        problems.append(f"{sum(attempts)} failed attempts but {warnings} log lines")
    if end.duplicate_alerts:
        problems.append(f"{end.duplicate_alerts} alerts emailed twice")
    if not alive or code != 0:
        problems.append(f"daemon alive during outage: {alive}, exit code on SIGTERM {code}")
    return Case(
        group=GROUP,
        name="SMTP down, then back",
        proves=(
            "with the SMTP server down the daemon keeps running, logs each failed send, "
            "retries with back-off, and emails each alert exactly once when it is back"
        ),
        passed=not problems,
        figures={
            "outage s": outage,
            "alerts": len(during),
            "tries per alert in outage": f"{min(attempts, default=0)}-{max(attempts, default=0)}",
            "warnings logged": warnings,
            "emails": end.emails,
            "duplicates": end.duplicate_alerts,
            "unalerted": end.unalerted,
        },
        detail="; ".join(problems),
    )


# --- (b) the database unavailable ---------------------------------------------------------------


@dataclass
class Outage:
    """What happened while the database was away."""

    seconds: float
    alive: bool
    failures_logged: int  # log lines naming the database error during the outage
    tracebacks: int
    exit_code: int | None
    end: EndState


@dataclass(frozen=True, slots=True)
class Away:
    """How the runs take their database away and bring it back."""

    take_down: Callable[[], None]
    bring_back: Callable[[], None]


@dataclass(frozen=True, slots=True)
class Runs:
    """What the two database cases share: where they run, for how long, with which texts."""

    texts: list[Text]  # published half before, half during the outage
    late: Text  # published alone for the case that goes away right after a send
    outage: float
    workdir: Path
    progress: Progress


def _both_runs(
    runs: Runs, *, names: tuple[str, str], dbs: tuple[str, str], away: Callable[[str], Away]
) -> tuple[Outage, AfterSend]:
    """The database away while feeds publish, then away right after an accepted send."""
    during = _database_run(runs, name=names[0], db=dbs[0], away=away(dbs[0]))
    after = _after_send_run(runs, name=names[1], db=dbs[1], away=away(dbs[1]))
    return during, after


def _database_run(runs: Runs, *, name: str, db: str, away: Away) -> Outage:
    texts, outage, workdir, progress = runs.texts, runs.outage, runs.workdir, runs.progress
    server = quiet_server()
    smtp = SMTPServer().start()
    publisher = Publisher(server=server, feeds=["/a.xml", "/b.xml"])
    daemon = in_process_daemon(
        workdir=workdir, name=name, db=db, publisher=publisher, smtp_url=smtp.url
    )
    half = len(texts) // 2
    try:
        daemon.wait_log("scheduler: started")
        for text in texts[:half]:
            publisher.publish(text)
        wait_until(lambda: _settled(db, publisher), seconds=RECOVERY_SECONDS)
        before = len(daemon.log())
        progress(f"outages: {name}: database away for {outage:g}s")
        away.take_down()
        began = time.monotonic()
        for text in texts[half:]:
            publisher.publish(text)
        time.sleep(max(outage - (time.monotonic() - began), 0))
        alive = daemon.alive()
        outage_log = daemon.log()[before:]
        away.bring_back()
        wait_until(lambda: _settled(db, publisher), seconds=RECOVERY_SECONDS)
        time.sleep(GRACE)  # room for a repeated email to show up
        code = daemon.stop()
        end = end_state(db=db, publisher=publisher, smtp=smtp)
    finally:
        daemon.kill()
        smtp.stop()
        server.stop()
    return Outage(
        seconds=outage,
        alive=alive,
        failures_logged=sum("database error" in line for line in outage_log.splitlines()),
        tracebacks=daemon.log().count("Traceback"),
        exit_code=code,
        end=end,
    )


def _settled(db: str, publisher: Publisher) -> bool:
    stored = set(count_by_path(stored_urls(db)))
    statuses = {str(r[0]) for r in query(db, "SELECT status FROM alert")}
    return {p.path for p in publisher.published} <= stored and statuses <= {"sent"}


def _database_verdict(
    *, name: str, proves: str, outage: Outage, expect_failures: bool, extra: dict[str, object]
) -> Case:
    end = outage.end
    problems = end.problems()
    if end.duplicate_alerts:
        problems.append(f"{end.duplicate_alerts} alerts emailed twice")
    if not outage.alive or outage.exit_code != 0:
        problems.append(
            f"daemon alive during outage: {outage.alive}, exit code on SIGTERM {outage.exit_code}"
        )
    if expect_failures and not outage.failures_logged:
        problems.append("no database error was logged during the outage")
    most = BASE_ERROR_LINES + ERROR_LINES_PER_MINUTE * int(outage.seconds // 60)
    if outage.failures_logged > most:
        problems.append(f"{outage.failures_logged} error lines for one outage (at most {most})")
    if outage.tracebacks:
        problems.append(f"{outage.tracebacks} tracebacks in the log instead of one clear line")
    return Case(
        group=GROUP,
        name=name,
        proves=proves,
        passed=not problems,
        figures={
            **extra,
            "outage s": outage.seconds,
            "errors logged": outage.failures_logged,
            "tracebacks": outage.tracebacks,
            "published": end.published,
            "stored": end.stored,
            "lost": len(end.lost),
            "duplicates": end.duplicate_articles,
            "emails": end.emails,
            "duplicate alerts": end.duplicate_alerts,
        },
        detail="; ".join(problems),
    )


# SQLite: another process holds the write lock (as a backup tool or the sqlite3 shell can).


def _sqlite_cases(runs: Runs) -> list[Case]:
    busy = SQLITE_BUSY_TIMEOUT_MS / 1000
    dbs = tuple(
        fresh_database(server_url=None, workdir=runs.workdir, name=n)
        for n in ("sqlite-lock", "sqlite-after-send")
    )

    def away(db: str) -> Away:
        holder = _LockHolder(make_url(db).database or "")
        return Away(take_down=holder.take, bring_back=holder.release)

    during, after_send = _both_runs(
        runs, names=("sqlite-lock", "sqlite-after-send"), dbs=(dbs[0], dbs[1]), away=away
    )
    during_polls = _database_verdict(
        name=f"SQLite locked by another process {runs.outage:g}s",
        proves=(
            "while another process holds the SQLite write lock the daemon keeps running "
            f"(writers wait {busy:g}s, then a few clear lines, not one per tick) and "
            "afterwards stores every article once and emails every relevant story once"
        ),
        outage=during,
        expect_failures=runs.outage > busy + 5,
        extra={"busy timeout s": busy},
    )
    return [during_polls, _after_send_verdict(what="SQLite locked", result=after_send)]


class _LockHolder:
    """A connection in another thread of this process holding BEGIN EXCLUSIVE."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._release = threading.Event()
        self._taken = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def take(self) -> None:
        self._thread.start()
        self._taken.wait(timeout=60)

    def release(self) -> None:
        self._release.set()
        self._thread.join(timeout=30)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            self._taken.set()
            self._release.wait()
            conn.execute("ROLLBACK")
        finally:
            conn.close()


# PostgreSQL: a private, throwaway server stopped and started while the daemon runs.


def _postgres_cases(runs: Runs) -> list[Case]:
    name = f"PostgreSQL server stopped {runs.outage:g}s"
    if not (PG_BIN / "initdb").is_file():
        return [
            Case(
                group=GROUP,
                name=name,
                proves="skipped: this case needs PostgreSQL's initdb and pg_ctl",
                passed=True,
                figures={"skipped": f"no PostgreSQL binaries in {PG_BIN}"},
                detail="skipped",
            )
        ]
    pg = PrivatePostgres()
    try:
        server_url = pg.start()
        admin(server_url, 'CREATE DATABASE "outage"', 'CREATE DATABASE "aftersend"')
        dbs = tuple(
            make_url(server_url).set(database=d).render_as_string(hide_password=False)
            for d in ("outage", "aftersend")
        )
        during, after_send = _both_runs(
            runs,
            names=("postgres-stop", "postgres-after-send"),
            dbs=(dbs[0], dbs[1]),
            away=lambda _db: Away(take_down=pg.stop, bring_back=pg.restart),
        )
    finally:
        pg.destroy()
    during_polls = _database_verdict(
        name=name,
        proves=(
            "with its PostgreSQL server stopped the daemon keeps running, says so in a few "
            "clear lines (not one per tick) and that it works again, and after the restart "
            "stores every article once and emails every relevant story once"
        ),
        outage=during,
        expect_failures=True,
        extra={},
    )
    return [during_polls, _after_send_verdict(what="PostgreSQL stopped", result=after_send)]


# The database goes away at the worst moment: the SMTP server has the message, 'sent' is not
# recorded yet. The message is out, so it must not go out again.


class _HookedSMTP(SMTPServer):
    """Runs ``hook`` once, when the first message arrives and before answering 250 OK."""

    def __init__(self, hook: Callable[[], None]) -> None:
        super().__init__()
        self.hook: Callable[[], None] | None = hook

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            hook()
        return await super().handle_DATA(server, session, envelope)


@dataclass
class AfterSend:
    seconds: float
    alive: bool
    statuses: list[str]
    emails: int
    exit_code: int | None
    log_lines: int  # lines about the unrecorded send


def _after_send_run(runs: Runs, *, name: str, db: str, away: Away) -> AfterSend:
    text, outage, workdir, progress = runs.late, runs.outage, runs.workdir, runs.progress
    server = quiet_server()
    went_down = threading.Event()

    def hook() -> None:
        away.take_down()
        went_down.set()

    smtp = _HookedSMTP(hook).start()
    publisher = Publisher(server=server, feeds=["/late.xml"])
    daemon = in_process_daemon(
        workdir=workdir, name=name, db=db, publisher=publisher, smtp_url=smtp.url
    )
    try:
        daemon.wait_log("scheduler: started")
        publisher.publish(text)
        went_down.wait(timeout=30)
        progress(f"outages: {name}: database away for {outage:g}s right after a send")
        time.sleep(outage)
        alive = daemon.alive()
        away.bring_back()
        wait_until(lambda: _all_sent(db, 1), seconds=RECOVERY_SECONDS)
        time.sleep(GRACE)  # room for a repeated email to show up
        code = daemon.stop()
        statuses = [s for s, _ in _alerts(db)]
        log = daemon.log()
    finally:
        daemon.kill()
        smtp.stop()
        server.stop()
    return AfterSend(
        seconds=outage,
        alive=alive,
        statuses=statuses,
        emails=len(smtp.messages),
        exit_code=code,
        log_lines=sum("could not record it" in line for line in log.splitlines()),
    )


def _after_send_verdict(*, what: str, result: AfterSend) -> Case:
    problems = []
    if result.statuses != ["sent"]:
        problems.append(
            f"alert left {result.statuses} after the outage: it goes out again when its "
            "5-minute lease expires"
        )
    if result.emails != 1:
        problems.append(f"{result.emails} emails for one alert")
    if not result.alive or result.exit_code != 0:
        problems.append(f"daemon alive: {result.alive}, exit code {result.exit_code}")
    return Case(
        group=GROUP,
        name=f"{what} {result.seconds:g}s between send and 'sent'",
        proves=(
            "when the database goes away after the SMTP server accepted an alert and before "
            "'sent' is recorded, the daemon records it once the database is back and the alert "
            "is emailed exactly once"
        ),
        passed=not problems,
        figures={
            "outage s": result.seconds,
            "status": ",".join(result.statuses),
            "emails": result.emails,
            "retries logged": result.log_lines,
        },
        detail="; ".join(problems),
    )


class PrivatePostgres:
    """initdb + pg_ctl in a temporary directory on a free port; never the shared server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="monitor-faults-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run(
            [*prefix, *args], check=check, capture_output=True, timeout=120, cwd=self.dir
        )

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.dir, user="postgres", group="postgres")
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync",
        )  # fmt: skip
        self.restart()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.dir / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            pg_ctl = str(PG_BIN / "pg_ctl")
            self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
