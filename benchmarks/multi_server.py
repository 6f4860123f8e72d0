"""Multi-server run: two gunicorn servers behind HAProxy on one PostgreSQL; one server is killed
and restarted while members browse and coordinators save and import.

    .venv/bin/python benchmarks/multi_server.py \\
        --database-url postgres://postgres@127.0.0.1:5432/casal_multi --actions 500 --duration 60
        [--workers 3] [--members 10] [--coalitions 2] [--hot-actions 5] [--import-share 0.5]
        [--kill app2] [--kill-at 20] [--down 5] [--no-observe] [--port 8201] [--request-timeout 30]
        [--time-limit 900] [--seed 1] [--keep] [--json out.json]

It needs PostgreSQL and Debian's `haproxy` (/usr/sbin/haproxy). The database named in the URL
is DROPPED and created anew, then dropped at the end unless --keep. Everything listens on
127.0.0.1 only: HAProxy on --port (8201), the gunicorn servers app1 and app2 on the next two
ports (8202, 8203), HAProxy's statistics page on the one after (8204). The steps:

1. `migrate`, `generate_data --actions N`, `collectstatic`, as in load_test.py; then, through
   the ORM, a second coordinator for each of the first --coalitions coalitions
   (`coord-0001-b`...) and three staff accounts for the lockout check (`verrou-*`);
2. app1 and app2: gunicorn with --workers sync workers each, as in production and identical
   (DEBUG off, the same random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, TRUSTED_PROXY_COUNT=1,
   CSRF_TRUSTED_ORIGINS=https://127.0.0.1:PORT, Django's errors to gunicorn's log), except
   that each has a temporary folder of its own (TMPDIR), as on two machines. HAProxy
   runs in the foreground as a child (`haproxy -db -f haproxy.cfg`, written in the working
   directory): round robin, health check `GET /health/` every 0.5 s (3 failures take a server
   out, 2 successes put it back), a refused connection taking the server out at once
   (`observe layer4`; --no-observe leaves it to the health check) and retried on the other
   server (`option redispatch 1`: nothing reached the application), `option forwardfor` (it
   appends the address it received the request from to X-Forwarded-For),
   `X-Forwarded-Proto: https` set on every request (TLS would end there in production), and
   at most --workers requests at a time per server (the rest wait in HAProxy's queue, not in
   a busy server's backlog). Each child is started through
   `setpriv --pdeathsig TERM` and in a session of its own, so it stops with this script
   whatever way the script ends; --time-limit bounds the whole script;
3. everyone logs in through HAProxy, then the clock starts. Members loop over their
   dashboard pages (load_test.py's members). Per active coalition, two coordinators work on
   the same --hot-actions actions of its current plan (so that they meet): both save the
   admin form with a unique token appended to the means (one save in four also changes the
   status); the first one also, --import-share of her rounds, imports instead, alternating:
   - the admin's list import (django-import-export; CSV and XLSX in turn) of a file that
     retitles two actions: the preview is POSTed to one gunicorn server and the confirmation
     to the other, each addressed directly on its own port, then the page it redirects to is
     read through HAProxy for the outcome;
   - the plan's table import (upload and preview on one server, confirmation on the other,
     addressed the same way) of a table that retitles one or two actions;
4. at --kill-at seconds, the --kill server's gunicorn master and workers get SIGKILL (its
   whole process group); --down seconds later it is started again. The script watches
   HAProxy's statistics page for the server going out and coming back in. The kill window
   runs from the kill until 3 s after HAProxy puts the server back: a request overlapping it
   may end in a connection error or a 5xx without failing the run;
5. after the clock, the lockout check, through HAProxy with the server chosen by a header
   (`X-Bench-Server`, a benchmark-only `use-server` rule): for `verrou-relais`, 5 wrong
   passwords alternately on app1 and app2 (and on both login pages), then the RIGHT password
   on each server and each login page must answer 429 with the locked page; the same for
   `verrou-usurpe`, whose client sends its own, different X-Forwarded-For every time;
   django-axes must have counted every attempt for the one address HAProxy received them
   from (127.0.0.1); `verrou-temoin` logs in with the right password on both servers first
   (a login works);
6. through the ORM: every confirmed save has its history record with its token, by its
   coordinator, and its token is still in the action's means (two coordinators on one action:
   a save accepted from the version the other had just replaced would drop it); every status
   change its trail entry; every confirmed import its history record with its title, by its
   coordinator, and each imported action's title is its last confirmed import's; a refused
   save or import wrote nothing. A lost write is reported with the save that overwrote it and
   the version its form showed. What axes recorded for the lockout accounts.

It prints a report to stdout (progress goes to stderr): requests per server and per page kind,
errors by kind inside and outside the kill window, refusals of stale edits, imports confirmed
across servers, lost writes, the kill's timeline, the lockout. Exit code 1 when a write is
lost or a refused one written, a 5xx, connection error or unexpected answer comes outside the
kill window, the application logs a 5xx or a traceback, a preview's confirmation finds nothing
on the other server (or no import of a kind is confirmed there), HAProxy does not take the
server out and back in, or the lockout does not hold on both servers. --json PATH (or - for
stdout) writes the figures as JSON too, with every write sent and its outcome.
"""

import argparse
import contextlib
import csv
import html
import http.client
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from browser import USER_AGENT, Browser, FormFields, form_errors, form_fields
from common import (
    POSTGRES_URL,
    PROJECT_DIR,
    database_label,
    is_postgres,
    log,
    scratch_database,
    setup_django,
)
from load_test import (
    ACCESS_LOG_FORMAT,
    STATUS_CHANGE_SHARE,
    STATUSES_WITHOUT_REASON,
    WRAPPER_SETTINGS,
    Budget,
    OutOfBudget,
    Stats,
    gunicorn_settings,
    latency_row,
    log_in,
    manage,
    markers,
    member,
    member_territories,
    territories,
    visit,
)

DEFAULT_DATABASE_URL = POSTGRES_URL.rsplit("/", 1)[0] + "/casal_multi"
HAPROXY = "/usr/sbin/haproxy"
SERVERS = ("app1", "app2")
PIN_HEADER = "X-Bench-Server"  # the lockout check's choice of server (use-server rule)
SERVED_BY = "X-Served-By"  # which server HAProxy sent the request to
KILL_GRACE = 3.0  # seconds after HAProxy puts the server back that still count as the kill
PAGE_KINDS = [
    "home", "plan", "action", "changes", "organisation", "admin_form", "admin_save",
    "import_form", "import_preview", "import_confirm", "import_result",
    "table_form", "table_preview", "table_confirm",
]  # fmt: skip
IMPORT_OUTCOMES = [
    "confirmed", "refused", "expired", "error", "no answer", "no preview", "abandoned",
]  # fmt: skip
DIRECT_KINDS = {"import_preview", "import_confirm", "table_preview", "table_confirm"}
IMPORT_URL = "/admin/actions/action/import/"
PROCESS_URL = "/admin/actions/action/process_import/"
CHANGELIST_URL = "/admin/actions/action/"
# What the application answers, as the person reads it (HTML entities decoded).
NOT_SAVED = "Vos changements ne sont pas enregistrés"
IMPORT_REFUSED = "Rien n'a été importé"
PREVIEW_EXPIRED = "L'aperçu a expiré"
TABLE_CHANGED = "Le plan ou les choix de colonnes ont changé"
LOCKED_PAGE = "Connexion bloquée"
CONTROL, RELAYED, SPOOFED = "verrou-temoin", "verrou-relais", "verrou-usurpe"
LOGIN_PAGES = ["/comptes/login/", "/admin/login/"]
WRONG_PASSWORDS = 5  # AXES_FAILURE_LIMIT
CLIENT_ADDRESS = "127.0.0.1"  # where the clients connect to HAProxy from
# The child processes stop when this script's main thread does, however it ends.
DEATH_SIGNAL = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=500, help="data size (default 500)")
    parser.add_argument("--seed", type=int, default=1, help="of the data and the users' picks")
    parser.add_argument("--workers", type=int, default=3, help="per server (default 3)")
    parser.add_argument("--members", type=int, default=10, help="concurrent members")
    parser.add_argument(
        "--coalitions", type=int, default=2, help="with two coordinators each (default 2)"
    )
    parser.add_argument(
        "--hot-actions", type=int, default=5, help="actions each coalition's pair works on"
    )
    parser.add_argument(
        "--import-share", type=float, default=0.5, help="of the first coordinator's rounds"
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds (default 60)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="in all")
    parser.add_argument("--kill", choices=SERVERS, default="app2", help="the server killed")
    parser.add_argument("--kill-at", type=float, help="seconds into the run (default 1/3)")
    parser.add_argument("--down", type=float, default=5, help="seconds before the restart")
    parser.add_argument(
        "--no-observe",
        action="store_true",
        help="HAProxy's health checks alone take a dead server out (no passive check)",
    )
    parser.add_argument("--port", type=int, default=8201, help="HAProxy; then app1, app2, stats")
    parser.add_argument("--request-timeout", type=float, default=30, help="seconds")
    parser.add_argument(
        "--time-limit", type=int, default=900, help="seconds for the whole script (default 900)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL, DROPPED and created anew (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and workdir")
    parser.add_argument("--json", help="also write the figures as JSON to this path (- stdout)")
    args = parser.parse_args()
    if not is_postgres(args.database_url):
        parser.error("the servers share one database: PostgreSQL")
    if not os.access(HAPROXY, os.X_OK):
        parser.error(f"{HAPROXY} not found: apt-get install haproxy")
    if args.kill_at is None:
        args.kill_at = args.duration / 3
    if min(args.actions, args.workers, args.duration, args.coalitions, args.hot_actions) <= 0:
        parser.error("--actions, --workers, --duration, --coalitions, --hot-actions must be > 0")
    if args.kill_at + args.down + 10 > args.duration:
        parser.error("--kill-at + --down leave the restarted server less than 10 s of the run")
    if args.time_limit < args.duration + 120:
        parser.error("--time-limit must leave 2 minutes beside --duration")
    return args


# The servers ----------------------------------------------------------------------------


@dataclass
class Ports:
    front: int
    apps: dict  # name: port
    stats: int


def ports_for(first):
    ports = Ports(first, {"app1": first + 1, "app2": first + 2}, first + 3)
    for port in [ports.front, *ports.apps.values(), ports.stats]:
        with socket.socket() as probe:
            # As gunicorn and HAProxy bind: a previous run's closing connections do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise SystemExit(f"Port {port} is in use: choose others with --port") from None
    return ports


class AppServer:
    """One gunicorn server; killed and started again by the run."""

    def __init__(self, name, port, workers, timeout, env, workdir):
        # A temporary folder of its own, as on a machine of its own.
        tmp = workdir / f"{name}-tmp"
        tmp.mkdir(exist_ok=True)
        self.name, self.port, self.env = name, port, {**env, "TMPDIR": str(tmp)}
        self.log_path = workdir / f"{name}.log"
        self.access_path = workdir / f"{name}.access.log"
        self.command = [
            *DEATH_SIGNAL, sys.executable, "-m", "gunicorn", "casal_tracker.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--timeout", str(timeout),
            "--graceful-timeout", "5",
            "--access-logfile", str(self.access_path),
            "--access-logformat", ACCESS_LOG_FORMAT,
        ]  # fmt: skip
        if "control_socket_disable" in gunicorn_settings():
            self.command.append("--no-control-socket")
        self.process = None
        self.lives = 0

    def start(self):
        with open(self.log_path, "ab") as out:  # gunicorn keeps its own descriptor
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: master and workers
            )
        self.lives += 1

    def group(self):
        """The live processes of its process group (master and workers)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[2]) == self.process.pid and fields[0] != "Z":
                    found.append(int(entry.name))
        return found

    def kill(self):
        """SIGKILL to the master and every worker at once; how many there were."""
        processes = self.group()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return len(processes)

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def healthy(self):
        """Whether it answers the health check, asked directly."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/health/")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()


def server_environment(workdir, ports):
    """The environment of both servers: production, the same secret key."""
    (workdir / "multi_server_settings.py").write_text(WRAPPER_SETTINGS)
    env = {**os.environ}
    env.pop("DEBUG", None)
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        TRUSTED_PROXY_COUNT="1",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{ports.front}",
        DJANGO_SETTINGS_MODULE="multi_server_settings",
        PYTHONPATH=os.pathsep.join([str(workdir), str(PROJECT_DIR)]),
    )
    return env


HAPROXY_CONFIG = """\
# Written by benchmarks/multi_server.py for one run; everything on 127.0.0.1.
global
    maxconn 512
    log stdout format raw local0 info

defaults
    mode http
    log global
    # accepted at (Unix time), server, status, total time (ms), termination state, method, URI
    log-format "%Ts.%ms %s %ST %Ta %tsc %HM %HU"
    option forwardfor
    # A connection refused is retried on the other server (nothing reached the application).
    option redispatch 1
    retries 3
    timeout connect 2s
    timeout client {timeout}s
    timeout server {timeout}s
    timeout http-request 15s
    timeout queue 30s
    timeout check 5s

frontend front
    bind 127.0.0.1:{front}
    # TLS would end here: the application is HTTPS only, and believes this header alone.
    http-request set-header X-Forwarded-Proto https
    default_backend apps

backend apps
    balance roundrobin
    option httpchk GET /health/
    http-check expect status 200
    # A sync worker serves one request at a time: the others wait here, not in its backlog.
    default-server inter 500ms fall 3 rise 2 maxconn {workers}
    # Benchmark only: the lockout check picks the server (a server down is skipped).
    use-server app1 if {{ req.hdr({pin}) -m str app1 }}
    use-server app2 if {{ req.hdr({pin}) -m str app2 }}
    http-response set-header {served_by} %s
    # A refused connection takes the server out at once (observe): else, until the checks
    # see it, a dead server's free slots draw every request the live one cannot take yet.
    server app1 127.0.0.1:{app1} check{observe}
    server app2 127.0.0.1:{app2} check{observe}

listen stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /
"""


class Balancer:
    """HAProxy in the foreground, a child of this script."""

    def __init__(self, workdir, ports, workers, timeout, observe=True):
        self.ports = ports
        self.config = workdir / "haproxy.cfg"
        self.log_path = workdir / "haproxy.log"
        self.config.write_text(
            HAPROXY_CONFIG.format(
                timeout=timeout,
                front=ports.front,
                workers=workers,
                pin=PIN_HEADER,
                served_by=SERVED_BY,
                stats=ports.stats,
                observe=" observe layer4 error-limit 1 on-error mark-down" if observe else "",
                **ports.apps,
            )
        )
        self.process = None

    def start(self):
        check = subprocess.run(
            [HAPROXY, "-c", "-q", "-f", str(self.config)], capture_output=True, text=True
        )
        if check.returncode:
            raise SystemExit(f"haproxy refuses {self.config}:\n{check.stdout}{check.stderr}")
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [*DEATH_SIGNAL, HAPROXY, "-db", "-f", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def states(self):
        """{server: HAProxy's status for it ("UP", "DOWN", "UP 1/3"...)}, from its stats
        page; None if the page did not answer."""
        connection = http.client.HTTPConnection("127.0.0.1", self.ports.stats, timeout=2)
        try:
            connection.request("GET", "/;csv")
            text = connection.getresponse().read().decode()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()
        rows = csv.DictReader(io.StringIO(text.removeprefix("# ")))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "apps" and row["svname"] in SERVERS
        }

    def in_service(self, name):
        """Whether HAProxy sends the server requests (None: its stats did not answer)."""
        states = self.states()
        # "UP 1/3": one check failed, still sent requests; "DOWN 1/2": coming back, not yet.
        return None if states is None else states.get(name, "").startswith("UP")


def poll(condition, limit, every=0.1):
    """The time (perf_counter) `condition()` first held, or None after `limit` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(every)
    return None


# Measuring ----------------------------------------------------------------------------------


class TimedStats(Stats):
    """load_test's Stats, also keeping when each error happened."""

    def __init__(self):
        super().__init__()
        self.events = []  # (start, end, kind, path, error)
        self.refusals = Counter()

    def record(self, kind, seconds, path, error=None):
        super().record(kind, seconds, path, error)
        if error:
            end = time.perf_counter()
            with self.lock:
                self.events.append((end - (seconds or 0), end, kind, path, error))

    def refused(self, kind, seconds, path, what):
        """An answer the application gave on purpose: a stale edit refused, not an error."""
        super().record(kind, seconds, path)
        with self.lock:
            self.refusals[what] += 1


def request(browser, stats, kind, method, path, fields=None, referer=None, files=None):
    """The response, or None after recording a network error or a timeout."""
    start = time.perf_counter()
    try:
        return browser.request(method, path, fields, referer, files=files)
    except (OSError, http.client.HTTPException) as error:
        stats.record(kind, time.perf_counter() - start, path, f"{type(error).__name__} {error}")
        return None


def said(response, message):
    return message in html.unescape(response.text)


def category(error):
    """The kind of an error, from its description."""
    code = re.match(r"HTTP (\d{3})", error)
    if code:
        status = int(code[1])
        if status == 429:
            return "lockout (429)"
        if status >= 500:
            return "5xx"
        if status >= 400:
            return "4xx"
        return "unexpected answer"
    if error.startswith(("page without", "form refused", "redirected", "preview", "confirm")):
        return "unexpected answer"
    return "connection"


# The coordinators ---------------------------------------------------------------------------


@dataclass
class Save:
    username: str
    pk: int
    token: str
    status: str | None  # the new status sent, if the save changed it
    version: str = ""  # the version the form showed (loaded_version)
    outcome: str = "no answer"  # confirmed, stale, error, no answer
    sent_at: float = 0.0  # perf_counter when the save was sent, and when answered
    answered_at: float = 0.0


@dataclass
class Import:
    kind: str  # list or table
    username: str
    preview_on: str
    confirm_on: str
    rows: list  # (pk, code, new title)
    file_format: str = "csv"
    outcome: str = "no preview"  # confirmed, refused, expired, error, no answer, abandoned
    sent_at: float = 0.0  # perf_counter when the confirmation was sent, and when answered
    answered_at: float = 0.0


@dataclass
class Desk:
    """A coalition's current plan, as its two coordinators work on it."""

    number: int
    plan_pk: int
    plan_slug: str
    hot: list  # (pk, code)


class Coordinator:
    def __init__(self, args, ports, stats, budget, desk, username, importer, saves, imports):
        self.args, self.stats, self.budget, self.desk = args, stats, budget, desk
        self.username, self.importer = username, importer
        self.saves, self.imports = saves, imports
        self.rng = random.Random(f"{args.seed}-{username}")
        self.balanced = Browser(ports.front, args.request_timeout)
        # Each server addressed directly, with the same cookies (the same session).
        self.direct = {
            name: Browser(port, args.request_timeout) for name, port in ports.apps.items()
        }
        for browser in self.direct.values():
            browser.cookies = self.balanced.cookies
        self.sequence = 0
        self.label = f"{desk.number}{'a' if importer else 'b'}"

    def close(self):
        for browser in [self.balanced, *self.direct.values()]:
            browser.close()

    def run(self):
        imported = 0
        while True:
            if self.importer and self.rng.random() < self.args.import_share:
                if imported % 2:
                    self.table_import(imported)
                else:
                    self.list_import(imported)
                imported += 1
            else:
                self.save()

    def next_token(self, prefix):
        self.sequence += 1
        return f"[{prefix} {self.label}-{self.sequence:04d}]"

    def save(self):
        pk, _code = self.rng.choice(self.desk.hot)
        path = f"/admin/actions/action/{pk}/change/"
        page = visit(
            self.balanced, self.stats, self.budget, "admin_form", path, ['id="action_form"']
        )
        if page is None:
            return
        form = FormFields("action_form", "_save")
        form.feed(page.text)
        form.close()
        values = dict(form.fields)
        if "means" not in values or "status" not in values or form.submit is None:
            self.stats.record("admin_form", None, path, "form without means, status or button")
            return
        save = Save(self.username, pk, self.next_token("multi"), None)
        save.version = values.get("loaded_version", "")
        if self.rng.random() < STATUS_CHANGE_SHARE:
            save.status = self.rng.choice(
                [s for s in STATUSES_WITHOUT_REASON if s != values["status"]]
            )
        fields = []
        for name, value in form.fields:
            if name == "means":
                value = f"{value.rstrip()} {save.token}".lstrip()
            elif name == "status" and save.status:
                value = save.status
            fields.append((name, value))
        fields.append(form.submit)

        self.budget.take()
        self.saves.append(save)  # sent, whatever comes back
        save.sent_at = time.perf_counter()
        response = request(
            self.balanced, self.stats, "admin_save", "POST", path, fields, referer=path
        )
        save.answered_at = time.perf_counter()
        if response is None:
            return
        error = None
        if response.status == 302 and urllib.parse.urlsplit(response.location).path == (
            CHANGELIST_URL
        ):
            save.outcome = "confirmed"
        elif response.status == 200 and said(response, NOT_SAVED):
            save.outcome = "stale"
            self.stats.refused("admin_save", response.seconds, path, "stale save refused")
            return
        else:
            save.outcome = "error"
            error = f"HTTP {response.status} {response.location}".strip()
            if response.status == 200:
                error = "form refused: " + " | ".join(form_errors(response.text))
        self.stats.record("admin_save", response.seconds, path, error)

    def servers(self, number):
        """Preview on one server, confirmation on the other, each way in turn for each kind
        of import (they alternate: `number` counts both)."""
        return SERVERS if (number // 2) % 2 == 0 else SERVERS[::-1]

    def retitled(self, count, prefix):
        rows = self.rng.sample(self.desk.hot, min(count, len(self.desk.hot)))
        return [(pk, code, f"Action importée {self.next_token(prefix)}") for pk, code in rows]

    def list_import(self, number):
        preview_on, confirm_on = self.servers(number)
        entry = Import("list", self.username, preview_on, confirm_on, self.retitled(2, "liste"))
        entry.file_format = "xlsx" if (number // 4) % 2 else "csv"
        page = visit(
            self.balanced, self.stats, self.budget, "import_form", IMPORT_URL,
            ['name="import_file"'],
        )  # fmt: skip
        if page is None:
            return
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        select = re.search(r'<select name="format".*?</select>', page.text, re.S)
        formats = {
            label.strip().lower(): value
            for value, label in re.findall(
                r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select[0] if select else ""
            )
        }
        if not token or entry.file_format not in formats:
            self.stats.record("import_form", None, IMPORT_URL, f"page without {entry.file_format}")
            return
        fields = [
            ("csrfmiddlewaretoken", token[1]),
            ("resource", "0"),
            ("format", formats[entry.file_format]),
        ]
        content = rows_file(
            entry.file_format,
            ["plan", "code", "titre"],
            [[self.desk.plan_slug, code, title] for _pk, code, title in entry.rows],
        )
        files = {"import_file": (f"actions.{entry.file_format}", content)}

        self.budget.take()
        self.imports.append(entry)
        preview = request(
            self.direct[preview_on], self.stats, "import_preview", "POST", IMPORT_URL,
            fields, referer=IMPORT_URL, files=files,
        )  # fmt: skip
        if preview is None:
            return
        confirm = form_fields(preview.text, None, "confirm", action=PROCESS_URL)
        if preview.status != 200 or "import_file_name" not in dict(confirm):
            error = f"HTTP {preview.status}" if preview.status != 200 else "preview without "
            if preview.status == 200:
                error += "confirmation: " + " | ".join(form_errors(preview.text))
            self.stats.record("import_preview", preview.seconds, IMPORT_URL, error)
            return
        self.stats.record("import_preview", preview.seconds, IMPORT_URL)

        try:
            self.budget.take()
        except OutOfBudget:
            entry.outcome = "abandoned"
            raise
        entry.outcome = "no answer"
        entry.sent_at = time.perf_counter()
        response = request(
            self.direct[confirm_on], self.stats, "import_confirm", "POST", PROCESS_URL,
            confirm, referer=IMPORT_URL,
        )  # fmt: skip
        entry.answered_at = time.perf_counter()
        if response is None:
            return
        target = urllib.parse.urlsplit(response.location).path
        if response.status != 302 or target not in (CHANGELIST_URL, IMPORT_URL):
            entry.outcome = "error"
            self.stats.record(
                "import_confirm", response.seconds, PROCESS_URL,
                f"HTTP {response.status} {response.location}".strip(),
            )  # fmt: skip
            return
        self.stats.record("import_confirm", response.seconds, PROCESS_URL)
        # The outcome is in the message of the page it redirects to (any server reads it).
        result = request(self.balanced, self.stats, "import_result", "GET", target)
        if result is None or result.status != 200:
            entry.outcome = "no answer"  # written or not: the ORM tells
            if result is not None:
                self.stats.record("import_result", result.seconds, target, f"HTTP {result.status}")
            return
        if said(result, IMPORT_REFUSED):
            entry.outcome = "refused"
            self.stats.refused("import_result", result.seconds, target, "list import refused")
        elif said(result, PREVIEW_EXPIRED) or target == IMPORT_URL:
            entry.outcome = "expired"
            self.stats.record(
                "import_result", result.seconds, target,
                "confirm: the pending import was not found by the other server",
            )  # fmt: skip
        else:
            entry.outcome = "confirmed"
            self.stats.record("import_result", result.seconds, target)

    def table_import(self, number):
        preview_on, confirm_on = self.servers(number)
        entry = Import(
            "table", self.username, preview_on, confirm_on,
            self.retitled(self.rng.randint(1, 2), "tableau"),
        )  # fmt: skip
        url = f"/admin/plans/plan/{self.desk.plan_pk}/importer-tableau/"
        page = visit(
            self.balanced,
            self.stats,
            self.budget,
            "table_form",
            url,
            ['name="step" value="upload"'],
        )
        if page is None:
            return
        lines = ["Code;Action", *(f"{code};{title}" for _pk, code, title in entry.rows)]
        files = {"file": ("plan.csv", "\n".join(lines).encode())}

        self.budget.take()
        self.imports.append(entry)
        preview = request(
            self.direct[preview_on], self.stats, "table_preview", "POST", url,
            page_form(page, "table-upload-form"), referer=url, files=files,
        )  # fmt: skip
        if preview is None:
            return
        if preview.status != 200 or 'name="step" value="confirm"' not in preview.text:
            error = f"HTTP {preview.status}" if preview.status != 200 else "preview without "
            if preview.status == 200:
                error += "confirmation: " + " | ".join(form_errors(preview.text))
            self.stats.record("table_preview", preview.seconds, url, error)
            return
        self.stats.record("table_preview", preview.seconds, url)

        try:
            self.budget.take()
        except OutOfBudget:
            entry.outcome = "abandoned"
            raise
        entry.outcome = "no answer"
        fields = [*page_form(preview, "table-preview-form"), ("step", "confirm")]
        entry.sent_at = time.perf_counter()
        response = request(
            self.direct[confirm_on], self.stats, "table_confirm", "POST", url, fields,
            referer=url,
        )  # fmt: skip
        entry.answered_at = time.perf_counter()
        if response is None:
            return
        target = urllib.parse.urlsplit(response.location).path
        if response.status == 302 and target == f"/admin/plans/plan/{self.desk.plan_pk}/change/":
            entry.outcome = "confirmed"
            self.stats.record("table_confirm", response.seconds, url)
        elif response.status == 200 and said(response, TABLE_CHANGED):
            entry.outcome = "refused"
            self.stats.refused("table_confirm", response.seconds, url, "table import refused")
        elif response.status == 302 and target == url:
            entry.outcome = "expired"
            self.stats.record(
                "table_confirm", response.seconds, url,
                "confirm: the pending table was not found by the other server",
            )  # fmt: skip
        else:
            entry.outcome = "error"
            error = f"HTTP {response.status} {response.location}".strip()
            if response.status == 200:
                error = "confirm refused: " + " | ".join(form_errors(response.text))
            self.stats.record("table_confirm", response.seconds, url, error)


def page_form(page, form_id):
    """The fields of the page's form `form_id`, or (the table import's pages before their
    forms had ids) of its form without an action."""
    return form_fields(page.text, form_id) or form_fields(page.text, None)


def rows_file(kind, header, rows):
    """The rows as a coordinator would save them from Excel, in CSV or XLSX."""
    if kind == "csv":
        lines = [header, *rows]
        return "\n".join(",".join(f'"{cell}"' for cell in line) for line in lines).encode()
    from openpyxl import Workbook

    workbook = Workbook()
    for line in [header, *rows]:
        workbook.active.append(line)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


# The run ------------------------------------------------------------------------------------


def add_people(found, coalitions):
    """A second coordinator for each active coalition, and the lockout check's accounts;
    the coalitions' current plans as their coordinators work on them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from devdata.synthetic import DEFAULT_PASSWORD
    from plans.groups import COORDINATION
    from plans.models import Coalition, Membership, Plan

    User = get_user_model()
    coordination = Group.objects.get(name=COORDINATION)
    password = make_password(DEFAULT_PASSWORD)
    coalitions_by_number = {int(c.slug.rsplit("-", 1)[1]): c for c in Coalition.objects.all()}
    desks = []
    for territory in found[:coalitions]:
        coalition = coalitions_by_number[territory.number]
        user = User.objects.create(
            username=f"coord-{territory.number:04d}-b", password=password, is_staff=True
        )
        user.groups.add(coordination)
        Membership.objects.create(coalition=coalition, user=user)
        plan = Plan.objects.get(coalition=coalition, slug=territory.plan_slug)
        pairs = list(zip(territory.action_pks, territory.codes, strict=True))
        desks.append(Desk(territory.number, plan.pk, plan.slug, pairs))
    for username in (CONTROL, RELAYED, SPOOFED):
        user = User.objects.create(username=username, password=password, is_staff=True)
        user.groups.add(coordination)
        Membership.objects.create(coalition=coalitions_by_number[found[0].number], user=user)
    return desks, DEFAULT_PASSWORD


def run_users(args, ports, found, desks, password, stats, budget, saves, imports, chaos):
    """Log everyone in through HAProxy, start the clock, run `chaos` in this thread (the
    parent of the processes it starts) until it is done, then until the budget is out."""
    users = []
    for index, territory in enumerate(member_territories(args.members, found)):
        users.append(("member", f"membre-{territory.number:04d}", territory, index))
    for desk in desks:
        users.append(("importer", f"coord-{desk.number:04d}", desk, 0))
        users.append(("coordinator", f"coord-{desk.number:04d}-b", desk, 1))
    start_line = threading.Barrier(len(users) + 1, action=budget.start)
    logged_in = []

    def user(role, username, place, index):
        coordinator = None
        if role == "member":
            browser = Browser(ports.front, args.request_timeout)
            rng = random.Random(f"{args.seed}-member-{index}")
            ok = log_in(browser, stats, "/comptes/login/", username, password, "/")
        else:
            coordinator = Coordinator(
                args, ports, stats, budget, place, username, role == "importer", saves, imports
            )
            browser = coordinator.balanced
            ok = log_in(browser, stats, "/admin/login/", username, password, "/admin/")
        if ok:
            logged_in.append(username)
        try:
            start_line.wait()
        except threading.BrokenBarrierError:
            return
        try:
            if not ok:
                return
            if coordinator is None:
                member(browser, stats, budget, place, rng, 0)
            else:
                coordinator.run()
        except OutOfBudget:
            pass
        except Exception as error:  # a bug of this script: counted, not hidden
            stats.record("client", None, username, f"{type(error).__name__}: {error}")
            raise
        finally:
            if coordinator is not None:
                coordinator.close()
            browser.close()

    threads = [threading.Thread(target=user, args=u, daemon=True) for u in users]
    for thread in threads:
        thread.start()
    try:
        start_line.wait()
        log(f"{len(logged_in)} of {len(users)} users logged in; running…")
        chaos()
        for thread in threads:
            while thread.is_alive():
                thread.join(1)
    except BaseException:
        budget.stop.set()
        start_line.abort()
        for thread in threads:
            thread.join(args.request_timeout + 5)
        raise
    return time.perf_counter() - budget.started, len(logged_in), len(users)


def kill_and_restart(args, servers, balancer, budget, events):
    """Kill the server at --kill-at, start it again --down seconds later, and note when
    HAProxy took it out and put it back (times in seconds since the clock started)."""
    victim = servers[args.kill]

    def since_start(moment):
        return None if moment is None else round(moment - budget.started, 2)

    if budget.stop.wait(max(0.0, budget.started + args.kill_at - time.perf_counter())):
        events["skipped"] = "the run ended before the kill"
        return
    killed_at = time.perf_counter()
    events["kill_unix_time"] = round(time.time(), 3)  # to read HAProxy's log by
    events["killed_processes"] = victim.kill()
    events["kill"] = since_start(killed_at)
    log(f"Killed {victim.name} ({events['killed_processes']} processes)")
    events["out"] = since_start(poll(lambda: balancer.in_service(victim.name) is False, 30))
    time.sleep(max(0.0, killed_at + args.down - time.perf_counter()))
    events["restart"] = since_start(time.perf_counter())
    victim.start()
    events["healthy"] = since_start(poll(victim.healthy, 60, every=0.2))
    events["in"] = since_start(poll(lambda: balancer.in_service(victim.name), 30))
    log(f"{victim.name} restarted; HAProxy put it back at {events['in']} s")


# The lockout --------------------------------------------------------------------------------


@dataclass
class Attempt:
    server: str  # the one asked for
    page: str
    password: str  # right or wrong
    spoofed: str | None
    status: int = 0
    served_by: str = ""
    locked_page: bool = False


def attempt_login(front, attempt, username, password):
    """One login through HAProxy, as a browser makes it (the page, then the form), on the
    server chosen by the header, with the client's own X-Forwarded-For if spoofed."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept-Language": "fr",
        PIN_HEADER: attempt.server,
    }
    if attempt.spoofed:
        headers["X-Forwarded-For"] = attempt.spoofed
    origin = f"https://127.0.0.1:{front}"
    connection = http.client.HTTPConnection("127.0.0.1", front, timeout=30)
    try:
        connection.request("GET", attempt.page, headers=headers)
        page = connection.getresponse()
        text = page.read().decode(errors="replace")
        cookie = re.search(r"csrftoken=([^;]+)", " ".join(page.msg.get_all("Set-Cookie") or []))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if page.status != 200 or not cookie or not token:
            attempt.status = page.status
            return attempt
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token[1],
                "username": username,
                "password": password,
                "next": "/",
            }
        )
        headers.update(
            {
                "Cookie": f"csrftoken={cookie[1]}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": origin + attempt.page,
            }
        )
        connection.request("POST", attempt.page, body, headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        attempt.status = response.status
        attempt.served_by = response.getheader(SERVED_BY) or ""
        attempt.locked_page = LOCKED_PAGE in html.unescape(text)
    except (OSError, http.client.HTTPException) as error:
        attempt.status = -1
        attempt.served_by = type(error).__name__
    finally:
        connection.close()
    return attempt


def lockout_check(front, password):
    """Whether five wrong passwords spread over both servers lock the account on both, for a
    client behind HAProxy and for one sending its own X-Forwarded-For every time."""
    from axes.models import AccessAttempt

    wrong = "pas-le-bon-" + secrets.token_hex(4)
    spoofs = iter(
        f"203.0.113.{n}" if n % 2 else f"198.51.100.{n}, 203.0.113.{n}" for n in range(1, 100)
    )
    result = {"control": [], "relayed": {}, "spoofed": {}}
    for server in SERVERS:
        attempt = Attempt(server, LOGIN_PAGES[0], "right", None)
        result["control"].append(attempt_login(front, attempt, CONTROL, password))
    for scenario, username in (("relayed", RELAYED), ("spoofed", SPOOFED)):
        spoofed = scenario == "spoofed"
        wrongs = [
            attempt_login(
                front,
                Attempt(
                    SERVERS[n % 2],
                    LOGIN_PAGES[(n // 2) % 2],
                    "wrong",
                    next(spoofs) if spoofed else None,
                ),
                username,
                wrong,
            )
            for n in range(WRONG_PASSWORDS)
        ]
        rights = [
            attempt_login(
                front,
                Attempt(server, page, "right", next(spoofs) if spoofed else None),
                username,
                password,
            )
            for page in LOGIN_PAGES
            for server in SERVERS
        ]
        result[scenario] = {"wrong": wrongs, "right": rights}

    result["recorded"] = list(
        AccessAttempt.objects.filter(username__in=[CONTROL, RELAYED, SPOOFED])
        .order_by("username", "ip_address")
        .values_list("username", "ip_address", "failures_since_start")
    )
    control_ok = sorted(a.served_by for a in result["control"]) == list(SERVERS) and all(
        a.status == 302 for a in result["control"]
    )
    verdicts = {"control logs in on both servers": control_ok}
    for scenario in ("relayed", "spoofed"):
        wrongs, rights = result[scenario]["wrong"], result[scenario]["right"]
        verdicts[f"{scenario}: wrong passwords reached both servers"] = {
            a.served_by for a in wrongs
        } == set(SERVERS)
        verdicts[f"{scenario}: right password refused (429, locked page) on both servers"] = {
            a.served_by for a in rights
        } == set(SERVERS) and all(a.status == 429 and a.locked_page for a in rights)
    for scenario, username in (("relayed", RELAYED), ("spoofed", SPOOFED)):
        addresses = [ip for user, ip, _n in result["recorded"] if user == username]
        verdicts[f"{scenario}: counted for the address HAProxy saw, {CLIENT_ADDRESS}"] = (
            addresses == [CLIENT_ADDRESS]
        )
    result["verdicts"] = verdicts
    result["holds"] = all(verdicts.values())
    return result


# Checking the writes ------------------------------------------------------------------------


def verify(saves, imports, before):
    """Lost writes (each with the save that overwrote it), refusals that wrote anyway, and
    writes made without a confirmation (a kill between the commit and the answer)."""
    from django.contrib.auth import get_user_model

    from actions.models import Action, ProgressNote

    users = dict(get_user_model().objects.values_list("username", "pk"))
    pks = {s.pk for s in saves} | {pk for i in imports for pk, _c, _t in i.rows}
    history = defaultdict(list)  # pk: [(history_id, means, title, user)], oldest first
    records = Action.history.filter(id__in=pks, history_id__gt=before["history"])
    for record in records.order_by("history_id").values_list(
        "id", "history_id", "means", "title", "history_user_id"
    ):
        history[record[0]].append(record[1:])
    current = {pk: (means, title) for pk, means, title in Action.objects.filter(
        pk__in=pks).values_list("pk", "means", "title")}  # fmt: skip
    notes = Counter(
        ProgressNote.objects.filter(
            action_id__in=pks, pk__gt=before["note"], kind=ProgressNote.Kind.STATUS_CHANGE
        ).values_list("action_id", "status_to", "author_id")
    )
    by_token = {save.token: save for save in saves}

    def overwritten(pk, written, kept):
        """Which save wrote the first record after `written` (a history_id) for which
        `kept(record)` fails, and the version its form showed."""
        records = history[pk]
        index = next(n for n, r in enumerate(records) if r[0] == written)
        for before_it, record in zip(records[index:], records[index + 1 :], strict=False):
            if not kept(record):
                tokens = set(re.findall(r"\[multi [^]]+\]", record[1])) - set(
                    re.findall(r"\[multi [^]]+\]", before_it[1])
                )
                culprit = next((by_token[t] for t in tokens if t in by_token), None)
                if culprit is None:
                    return f"overwritten by history record {record[0]}"
                return (
                    f"overwritten by history record {record[0]}, the save {culprit.token} "
                    f"of {culprit.username} from a form showing version {culprit.version}"
                    f" and the data from before record {written}"
                )
        return "overwritten"

    lost, refused_written, unconfirmed_written = [], [], Counter()
    expected_notes = Counter()
    for save in saves:
        by = users[save.username]
        mine = [r[0] for r in history[save.pk] if save.token in r[1] and r[3] == by]
        if save.outcome == "confirmed":
            if not mine:
                lost.append(f"save {save.token}: no history record with it by its coordinator")
            elif save.token not in current[save.pk][0]:
                why = overwritten(save.pk, mine[0], lambda r, t=save.token: t in r[1])
                lost.append(f"save {save.token} of action {save.pk} (record {mine[0]}): {why}")
            if save.status:
                expected_notes[save.pk, save.status, by] += 1
        elif save.outcome == "stale" and mine:
            refused_written.append(f"save {save.token}: refused as stale, yet written")
        elif mine:
            unconfirmed_written["save"] += 1
    for (pk, status, by), count in expected_notes.items():
        if notes[pk, status, by] < count:
            lost.append(f"action {pk}: {count - notes[pk, status, by]} status note(s) missing")

    per_action = defaultdict(list)  # pk: [(import, title, its record)] in the order sent
    for entry in imports:
        by = users[entry.username]
        for pk, _code, title in entry.rows:
            mine = [r[0] for r in history[pk] if r[2] == title and r[3] == by]
            per_action[pk].append((entry, title, mine[0] if mine else None))
            if entry.outcome == "confirmed" and not mine:
                lost.append(f"{entry.kind} import {title}: no history record by its coordinator")
            elif entry.outcome in {"refused", "expired", "no preview", "abandoned"} and mine:
                refused_written.append(f"{entry.kind} import {title}: {entry.outcome}, written")
            elif entry.outcome != "confirmed" and mine:
                unconfirmed_written[f"{entry.kind} import"] += 1
    for pk, entries in per_action.items():
        last = max(
            (n for n, (e, _t, r) in enumerate(entries) if e.outcome == "confirmed" and r),
            default=None,
        )
        if last is None:
            continue
        # A later import without an answer may have been written after it.
        allowed = {entries[last][1]} | {
            title
            for entry, title, _r in entries[last + 1 :]
            if entry.outcome in {"no answer", "error"}
        }
        if current[pk][1] not in allowed:
            title, record = entries[last][1], entries[last][2]
            why = overwritten(pk, record, lambda r, allowed=allowed: r[2] in allowed)
            lost.append(f"{entries[last][0].kind} import {title} (record {record}): {why}")
    return lost, refused_written, dict(unconfirmed_written)


# Reading the logs ---------------------------------------------------------------------------


def read_access_log(server):
    """Requests the server answered (the health checks apart), and its 5xx lines."""
    served, errors = 0, []
    if server.access_path.exists():
        for line in server.access_path.read_text(errors="replace").splitlines():
            parts = line.split(" ", 3)
            if len(parts) < 4 or parts[3].strip('"') == "/health/":
                continue
            served += 1
            if parts[0].startswith("5"):
                errors.append(f"{server.name}: {parts[0]} {parts[2]} {parts[3].strip(chr(34))}")
    text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    problems = [
        f"{server.name}: {line}"
        for line in text.splitlines()
        if "Traceback" in line or "[ERROR]" in line or "WORKER TIMEOUT" in line
        or line.startswith(("Internal Server Error", "Forbidden", "Bad Request"))
    ]  # fmt: skip
    # What each traceback ended with: its exception.
    exceptions = Counter(
        # The same exception on another file name is the same problem.
        server.name + ": " + re.sub(r"'[^']*'", "'…'", block.splitlines()[-1])
        for block in re.findall(r"Traceback \(most recent call last\):\n(?:[ \t].*\n)+.*", text)
    )
    problems = [f"{line} (x{count})" for line, count in exceptions.items()] + problems
    return served, errors, problems


def read_haproxy_log(balancer):
    """Requests per server and per status as HAProxy answered them, and its server alerts."""
    statuses, per_server, alerts = Counter(), Counter(), []
    line_format = re.compile(r"[\d.]+ (\S+) (-?\d+) (-?\d+) (\S+) (\S+) (\S+)")
    text = balancer.log_path.read_text(errors="replace") if balancer.log_path.exists() else ""
    for line in text.splitlines():
        found = line_format.fullmatch(line.strip())
        if found:
            per_server[found[1]] += 1
            statuses[found[2]] += 1
        elif line.startswith("Server apps/"):
            alerts.append(line.strip())
    return dict(per_server), dict(statuses), alerts


def code_state():
    """The commit measured, and how many tracked files differed from it."""
    try:
        head, changed = (
            subprocess.run(
                ["git", "-C", str(PROJECT_DIR), *command],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for command in (
                ["rev-parse", "--short", "HEAD"],
                ["status", "--porcelain", "--untracked-files=no"],
            )
        )
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = len(changed.splitlines())
    return head.strip() + (f" with {changed} tracked files changed" if changed else "")


# The report ---------------------------------------------------------------------------------


def classify(stats, window, started):
    """Errors by kind inside and outside the kill window, and what each error was (seconds
    since the clock started, page kind, path, error), inside and outside."""
    inside, outside = Counter(), Counter()
    samples = {"in_kill_window": [], "outside": []}
    for start, end, kind, path, error in stats.events:
        if kind == "login":
            continue
        within = window is not None and start <= window[1] and end >= window[0]
        (inside if within else outside)[category(error)] += 1
        samples["in_kill_window" if within else "outside"].append(
            f"{start - started:.2f}-{end - started:.2f} s {kind} {path}: {error}"
        )
    return dict(inside), dict(outside), samples


def import_figures(imports):
    figures = {}
    for kind in ("list", "table"):
        entries = [i for i in imports if i.kind == kind]
        outcomes = Counter(i.outcome for i in entries)
        figures[kind] = {
            "sent": len(entries),
            "across_servers": sum(1 for i in entries if i.preview_on != i.confirm_on),
            **{outcome: outcomes.get(outcome, 0) for outcome in IMPORT_OUTCOMES},
        }
    return figures


def report(results):
    run, kill = results["run"], results["kill"]
    lines = [
        f"Multi-server run: {results['actions']:,} actions, 2 gunicorn servers x "
        f"{results['workers']} sync workers behind {results['haproxy']}, "
        f"{results['members']} members + {results['coordinators']} coordinators, "
        f"{results['cpus']} CPUs, {results['database']}; code {results['code']}",
        f"Run: {run['seconds']:.1f} s, {run['requests']:,} requests "
        f"({run['direct']:,} addressed to one server directly), "
        f"{run['throughput']:.1f} requests/s; answered by app1 {results['served']['app1']:,}, "
        f"app2 {results['served']['app2']:,} (access logs, health checks apart).",
        f"Kill: {kill.get('victim')} ({kill.get('killed_processes', '?')} processes) SIGKILLed "
        f"at {kill.get('kill')} s; HAProxy took it out at {kill.get('out')} s "
        f"({kill.get('down_reason')}); restarted at {kill.get('restart')} s, healthy at "
        f"{kill.get('healthy')} s, back in HAProxy at {kill.get('in')} s "
        f"({kill.get('up_reason')}). Kill window: {kill.get('window')}.",
        "",
        f"{'page':<16}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}",
    ]
    for kind in [*PAGE_KINDS, "all"]:
        row = results["pages"][kind] if kind != "all" else results["all"]
        if not row["requests"] and not row["errors"]:
            continue
        cells = [row[c] for c in ("p50_ms", "p90_ms", "p99_ms", "max_ms")]
        lines.append(
            f"{kind + ('*' if kind in DIRECT_KINDS else ''):<16}{row['requests']:>10,}"
            f"{row['errors']:>8,}" + "".join(f"{'–' if c is None else c:>9}" for c in cells)
        )
    lines.append("(* addressed to one gunicorn server directly; the others through HAProxy)")
    errors = results["errors"]
    kinds = sorted(set(errors["in_kill_window"]) | set(errors["outside"]))
    lines += ["", "Errors by kind: " + (", ".join(
        f"{kind} {errors['in_kill_window'].get(kind, 0)} in the kill window, "
        f"{errors['outside'].get(kind, 0)} outside" for kind in kinds
    ) or "none")]  # fmt: skip
    answered = sorted(results["haproxy_statuses"].items())
    lines.append(f"HAProxy answered: {', '.join(f'{status} x{n}' for status, n in answered)}")
    refusals = results["refusals"]
    lines.append(
        "Refusals of stale edits (expected when two people meet): "
        + (", ".join(f"{what} {n}" for what, n in sorted(refusals.items())) or "none")
    )
    saves = results["saves"]
    lines.append(
        f"Saves: {saves['sent']} sent, {saves['confirmed']} confirmed, {saves['stale']} refused "
        f"as stale, {saves['error']} errors, {saves['no answer']} without an answer."
    )
    for kind, name in (("list", "List imports (import-export)"), ("table", "Table imports")):
        f = results["imports"][kind]
        lines.append(
            f"{name}: {f['sent']} previews sent, {f['across_servers']} confirmed on the other "
            f"server; outcomes: {f['confirmed']} confirmed, {f['refused']} refused (changed "
            f"since the preview), {f['expired']} not found by the other server, {f['error']} "
            f"errors, {f['no answer']} without an answer, {f['no preview']} without a preview, "
            f"{f['abandoned']} abandoned at the end."
        )
    lines.append(
        f"Lost writes: {len(results['lost_writes'])}; refused yet written: "
        f"{len(results['refused_written'])}; written without a confirmation (in the kill "
        f"window): {results['unconfirmed_written'] or 'none'}."
    )
    lockout = results["lockout"]
    lines += ["", "Lockout across servers:"]
    for verdict, ok in lockout["verdicts"].items():
        lines.append(f"  {'ok  ' if ok else 'FAIL'} {verdict}")
    for scenario in ("relayed", "spoofed"):
        for step in ("wrong", "right"):
            lines.append(
                f"  {scenario}, {step} password: "
                + ", ".join(
                    f"{a['served_by'] or a['server']}{a['page'].split('/')[1][:1]} {a['status']}"
                    f"{'L' if a['locked_page'] else ''}"
                    for a in lockout[scenario][step]
                )
            )
    lines.append(
        "  (server, c/a: /comptes or /admin login page, status, L: the locked page); axes "
        "recorded: "
        + "; ".join(f"{u} from {ip}: {n} failures" for u, ip, n in lockout["recorded"])
    )
    lines.append(
        f"Setup {results['setup_seconds']:.0f} s. Threads crashed: {results['client_crashes']}."
    )
    for where, title in (("in_kill_window", "in the kill window"), ("outside", "outside it")):
        if results["error_samples"][where]:
            lines += ["", f"Errors {title} (first 20; seconds since the clock started):"]
            lines += [f"  {sample}" for sample in results["error_samples"][where][:20]]
    for title, key in (
        ("Lost writes", "lost_writes"),
        ("Refused yet written", "refused_written"),
        ("Application 5xx and log problems", "server_problems"),
        ("HAProxy's alerts", "haproxy_alerts"),
    ):
        if results[key]:
            lines += ["", f"{title} (first 20):"] + [f"  {e}" for e in results[key][:20]]
    lines += ["", "FAILED: " + "; ".join(results["failures"]) if results["failures"] else "PASSED"]
    return "\n".join(lines)


class Stopped(Exception):
    """SIGTERM or --time-limit: everything started is stopped on the way out."""


def stop_here(signum, _frame):
    raise Stopped(signal.Signals(signum).name)


def main():
    script_start = time.perf_counter()
    args = parse_args()
    ports = ports_for(args.port)
    signal.signal(signal.SIGTERM, stop_here)
    signal.signal(signal.SIGALRM, stop_here)
    signal.alarm(args.time_limit)
    try:
        with scratch_database(args.database_url, keep=args.keep, prefix="casal-multi-") as (
            _url,
            workdir,
        ):
            log(f"Working directory {workdir}")
            results = multi_server(args, ports, workdir, script_start)
    except Stopped as stop:
        raise SystemExit(f"Stopped ({stop}): servers stopped, database dropped.") from None
    finally:
        signal.alarm(0)
    results["script_seconds"] = round(time.perf_counter() - script_start, 1)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(report(results), file=out)
    print(f"Whole script: {results['script_seconds']:.0f} s", file=out)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    sys.exit(1 if results["failures"] else 0)


def multi_server(args, ports, workdir, script_start):
    code = code_state()  # before the run: the checkout may change meanwhile
    log("Migrating…")
    manage(workdir, "migrate", "--noinput", "-v0")
    log(f"Generating {args.actions:,} actions…")
    manage(
        workdir, "generate_data", "--actions", str(args.actions), "--seed", str(args.seed),
        debug=True,
    )  # fmt: skip
    log("Collecting static files…")
    manage(workdir, "collectstatic", "--noinput", "-v0")

    setup_django()
    from django.db import connection

    found = territories()
    if args.coalitions > len(found):
        raise SystemExit(f"--coalitions: only {len(found)} coalitions at this size")
    desks, password = add_people(found, args.coalitions)
    for desk in desks:
        desk.hot = desk.hot[: args.hot_actions]
    before = markers()
    database = database_label()
    connection.close()  # idle during the run

    env = server_environment(workdir, ports)
    timeout = int(args.request_timeout) + 5  # past the client's: a slow request times out there
    servers = {
        name: AppServer(name, port, args.workers, timeout, env, workdir)
        for name, port in ports.apps.items()
    }
    balancer = Balancer(workdir, ports, args.workers, timeout + 5, not args.no_observe)
    haproxy = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True).stdout.split()
    stats, saves, imports, events = TimedStats(), [], [], {"victim": args.kill}
    with contextlib.ExitStack() as running:
        log("Starting app1, app2 and HAProxy…")
        for server in servers.values():
            running.callback(server.stop)
            server.start()
        for server in servers.values():
            if poll(server.healthy, 60, every=0.2) is None:
                raise SystemExit(f"{server.name} did not start:\n{server.log_path.read_text()}")
        running.callback(balancer.stop)
        balancer.start()
        if poll(lambda: all(balancer.in_service(name) for name in SERVERS), 30) is None:
            raise SystemExit(f"HAProxy does not see both servers: {balancer.states()}")

        budget = Budget(args.duration, args.max_requests)
        log("Logging the users in…")
        seconds, logged_in, user_count = run_users(
            args, ports, found, desks, password, stats, budget, saves, imports,
            lambda: kill_and_restart(args, servers, balancer, budget, events),
        )  # fmt: skip
        setup_seconds = budget.started - script_start
        log(f"Ran {seconds:.1f} s; checking the lockout…")
        poll(lambda: all(balancer.in_service(name) for name in SERVERS), 30)
        lockout = lockout_check(ports.front, password)
        connection.close()
        log("Stopping HAProxy and the servers…")

    log(f"Checking {len(saves)} saves and {len(imports)} imports…")
    lost, refused_written, unconfirmed_written = verify(saves, imports, before)
    connection.close()

    window = None
    if events.get("kill") is not None:
        end = events.get("in")
        end = seconds if end is None else min(seconds, end + KILL_GRACE)
        window = (budget.started + events["kill"], budget.started + end)
        events["window"] = f"{events['kill']} s to {round(end, 2)} s"
    inside, outside, samples = classify(stats, window, budget.started)
    served, server_errors, problems = {}, [], []
    for server in servers.values():
        count, errors, lines = read_access_log(server)
        served[server.name] = count
        server_errors += errors
        problems += lines
    per_server, statuses, alerts = read_haproxy_log(balancer)
    for alert in alerts:  # what took the server out and what put it back
        change = re.match(rf"Server apps/{args.kill} is (DOWN|UP), reason: ([^,]+)", alert)
        if change:
            events.setdefault(f"{change[1].lower()}_reason", change[2])
    total = sum(len(stats.latencies[kind]) for kind in PAGE_KINDS)
    direct = sum(len(stats.latencies[kind]) for kind in DIRECT_KINDS)
    outcomes = Counter(s.outcome for s in saves)
    import_counts = import_figures(imports)

    failures = []
    if lost:
        failures.append(f"{len(lost)} lost writes")
    if refused_written:
        failures.append(f"{len(refused_written)} refused writes written")
    for what, count in sorted(outside.items()):
        failures.append(f"{count} {what} outside the kill window")
    if server_errors or problems:
        failures.append(
            f"{len(server_errors)} 5xx and {len(problems)} error lines in gunicorn's logs"
        )
    if stats.errors["client"]:
        failures.append(f"{stats.errors['client']} threads crashed")
    if stats.errors["login"] or logged_in < user_count:
        failures.append(f"{user_count - logged_in} users could not log in")
    if events.get("skipped") or None in (events.get(k) for k in ("out", "healthy", "in")):
        failures.append(f"HAProxy did not take {args.kill} out and back in: {events}")
    for kind, figures in import_counts.items():
        if figures["expired"]:
            failures.append(f"{figures['expired']} {kind} imports not found by the other server")
        if figures["sent"] and not figures["confirmed"]:
            failures.append(f"no {kind} import confirmed across servers")
    if not lockout["holds"]:
        failures.append(
            "lockout: " + ", ".join(v for v, ok in lockout["verdicts"].items() if not ok)
        )

    return {
        "actions": args.actions,
        "workers": args.workers,
        "members": args.members,
        "coordinators": 2 * len(desks),
        "cpus": os.cpu_count(),
        "database": database,
        "code": code,
        "haproxy": " ".join(haproxy[:3]),
        "python": sys.version.split()[0],
        "django": __import__("django").get_version(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "setup_seconds": round(setup_seconds, 1),
        "users_logged_in": f"{logged_in}/{user_count}",
        "run": {
            "seconds": round(seconds, 2),
            "stopped_by": budget.stopped_by,
            "requests": total,
            "direct": direct,
            "throughput": total / seconds if seconds else 0,
        },
        "served": served,
        "haproxy_per_server": per_server,
        "haproxy_statuses": statuses,
        "haproxy_alerts": alerts,
        "kill": events,
        "pages": {
            kind: latency_row(stats.latencies[kind], stats.errors[kind]) for kind in PAGE_KINDS
        },
        "all": latency_row(
            [t for kind in PAGE_KINDS for t in stats.latencies[kind]],
            sum(stats.errors[kind] for kind in PAGE_KINDS),
        ),
        "errors": {"in_kill_window": inside, "outside": outside},
        "error_samples": samples,
        "refusals": dict(stats.refusals),
        "saves": {
            "sent": len(saves),
            **{k: outcomes.get(k, 0) for k in ("confirmed", "stale", "error", "no answer")},
        },
        "imports": import_counts,
        "lost_writes": lost,
        # Every write sent, with its times in seconds since the clock started.
        "writes": [
            {
                **asdict(write),
                "sent_at": round(write.sent_at - budget.started, 3),
                "answered_at": round(write.answered_at - budget.started, 3),
            }
            for write in [*saves, *imports]
        ],
        "refused_written": refused_written,
        "unconfirmed_written": unconfirmed_written,
        "lockout": {
            **{k: lockout[k] for k in ("holds", "verdicts")},
            "recorded": [list(r) for r in lockout["recorded"]],
            **{
                scenario: {
                    step: [asdict(a) for a in lockout[scenario][step]]
                    for step in ("wrong", "right")
                }
                for scenario in ("relayed", "spoofed")
            },
            "control": [asdict(a) for a in lockout["control"]],
        },
        "client_crashes": stats.errors["client"],
        "server_problems": problems + server_errors,
        "failures": failures,
    }


if __name__ == "__main__":
    main()
