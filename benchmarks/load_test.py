"""Load test: members browse the dashboard while coordinators save actions in the admin.

    .venv/bin/python benchmarks/load_test.py [--actions 5000] [--workers 4] [--members 20]
        [--coordinators 2] [--duration 60] [--max-requests 20000] [--request-timeout 30]
        [--think 0] [--seed 1] [--plan-only]
        [--database-url postgres://postgres@127.0.0.1:5432/casal_load] [--keep] [--json out.json]

It needs PostgreSQL (SQLite takes one writer at a time): the database named in the URL is
DROPPED and created anew, then dropped at the end unless --keep. The steps:

1. `migrate`, `generate_data --actions N` (devdata/synthetic.py) and `collectstatic`, each as
   a developer would run them;
2. gunicorn with --workers sync workers on a free port of 127.0.0.1, DEBUG off, a random
   SECRET_KEY and ALLOWED_HOSTS=127.0.0.1. The only change to the settings is a LOGGING
   that sends Django's warnings and errors to gunicorn's stderr (a settings module in the
   working directory that imports the project's), so that a 500's traceback is seen;
3. every simulated user logs in (before the clock starts), each in a thread of its own with
   its own cookies and kept-alive connection (Python's standard library only):
   - members (`membre-NNNN`, a quarter of them on coalition 0001, the others spread over
     the other coalitions) loop: home, their coalition's current plan, 1 to 3 of its
     actions, sometimes its changes page and an organisation page. Each page must answer
     200 and show what it is about (the coalition, plan title, action code...);
   - coordinators (`coord-0001`, `coord-0002`...) loop: open the admin change form of an
     action of their coalition's current plan, submit every field as a browser would, with
     a unique token such as `[charge 1-0042]` appended to the means and, one save in four,
     the status changed to in_progress or done. A save must answer 302 to the change list;
4. the run stops after --duration seconds or --max-requests requests, whichever comes first;
5. no lost writes, through the ORM: every confirmed save has a history record of its action
   holding its token, by its coordinator; each action's means holds the last token saved
   for it; each status change has its ProgressNote of kind status_change.

It prints a table to stdout (progress goes to stderr): requests, errors and latency
percentiles per page kind as the clients measured them, the time gunicorn's workers spent
on each request (access log), throughput, saves, and the CPU time used by the load generator,
gunicorn, PostgreSQL (all on the same machine) and any other process: a busy neighbour makes
the figures worse, and the table warns when it took over 10 % of the CPU. Exit code 1 on
any error, 5xx, traceback or lost write. --json PATH (or - for stdout) writes the figures as
JSON too.
"""

import argparse
import contextlib
import html
import http.client
import http.cookies
import json
import math
import os
import random
import re
import secrets
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

from browser import Browser, FormFields, form_errors
from common import (
    POSTGRES_URL,
    PROJECT_DIR,
    database_label,
    is_postgres,
    log,
    scratch_database,
    setup_django,
)

DEFAULT_DATABASE_URL = POSTGRES_URL.rsplit("/", 1)[0] + "/casal_load"
PAGE_KINDS = ["home", "plan", "action", "changes", "organisation", "admin_form", "admin_save"]
FIRST_COALITION_SHARE = 0.25  # of the members, on coalition 0001 (its coordinator saves too)
CHANGES_SHARE = 0.3  # of the members' rounds that also open the changes page
ORGANISATION_SHARE = 0.3  # ... and an organisation page
ORGANISATIONS_PER_MEMBER = 20  # the organisations a member picks from
STATUS_CHANGE_SHARE = 0.25  # of the saves that also change the status
STATUSES_WITHOUT_REASON = ["in_progress", "done"]
ERROR_SAMPLES = 5  # kept per page kind
# Status, time spent by the worker in ms, method and path of each request.
ACCESS_LOG_FORMAT = '%(s)s %(M)s %(m)s "%(U)s"'
WRAPPER_SETTINGS = '''\
"""The project's settings, plus a LOGGING that sends warnings and errors to stderr."""

from casal_tracker.settings import *  # noqa: F403

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING", "propagate": False}},
}
'''


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=5000, help="data size (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="of the data and the users' picks")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--members", type=int, default=20, help="concurrent members")
    parser.add_argument("--coordinators", type=int, default=2, help="concurrent coordinators")
    parser.add_argument("--duration", type=float, default=60, help="seconds (default 60)")
    parser.add_argument("--max-requests", type=int, default=20000, help="in all (default 20000)")
    parser.add_argument(
        "--request-timeout", type=float, default=30, help="seconds per request (default 30)"
    )
    parser.add_argument(
        "--think", type=float, default=0, help="mean pause in seconds between rounds (default 0)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help=f"PostgreSQL, DROPPED and created anew (default {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and workdir")
    parser.add_argument("--json", help="also write the figures as JSON to this path (- stdout)")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="members request their plan page only (use with --coordinators 0)",
    )
    args = parser.parse_args()
    if not is_postgres(args.database_url):
        parser.error("the load test needs PostgreSQL: SQLite takes one writer at a time")
    if min(args.actions, args.workers, args.members, args.duration, args.max_requests) <= 0:
        parser.error("--actions, --workers, --members, --duration, --max-requests must be > 0")
    if args.coordinators < 0:
        parser.error("--coordinators must be 0 or more")
    return args


# Preparing the database and the server ----------------------------------------------------


def manage(workdir, *arguments, debug=False):
    """Run `manage.py arguments` as a developer would; its output goes to the workdir."""
    env = {**os.environ}
    env.pop("DEBUG", None)
    if debug:
        env["DEBUG"] = "1"
    output = workdir / f"manage-{arguments[0]}.log"
    with open(output, "wb") as out:
        done = subprocess.run(
            [sys.executable, str(PROJECT_DIR / "manage.py"), *arguments],
            cwd=PROJECT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(arguments)} failed:\n{output.read_text()}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log_path: Path
    access_path: Path


@contextlib.contextmanager
def serve(workdir, workers, timeout):
    """gunicorn serving the project as in production; stopped on the way out, whatever
    happens (it runs in a session of its own, so a Ctrl-C reaches this process only)."""
    (workdir / "load_test_settings.py").write_text(WRAPPER_SETTINGS)
    port = free_port()
    env = {**os.environ}
    env.pop("DEBUG", None)
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SETTINGS_MODULE="load_test_settings",
        PYTHONPATH=os.pathsep.join([str(workdir), str(PROJECT_DIR)]),
    )
    server = Server(port, None, workdir / "gunicorn.log", workdir / "access.log")
    command = [
        sys.executable, "-m", "gunicorn", "casal_tracker.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--timeout", str(timeout),
        "--graceful-timeout", "10",
        "--access-logfile", str(server.access_path),
        "--access-logformat", ACCESS_LOG_FORMAT,
    ]  # fmt: skip
    if "control_socket_disable" in gunicorn_settings():
        # Newer gunicorns open a control socket at a fixed path in ~: another server's.
        command.append("--no-control-socket")
    with open(server.log_path, "wb") as out:
        server.process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(server)
            yield server
        finally:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def gunicorn_settings():
    from gunicorn.config import KNOWN_SETTINGS

    return {setting.name for setting in KNOWN_SETTINGS}


def wait_until_up(server, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn stopped:\n{server.log_path.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            connection.request("GET", "/health/")  # as the load balancer asks
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {limit} s:\n{server.log_path.read_text()}")


# What the simulated users visit, read from the database beforehand -------------------------


@dataclass
class Territory:
    """A coalition's current plan, as its member and coordinator see it."""

    number: int
    name: str
    plan_slug: str
    plan_title: str
    codes: list
    action_pks: list
    organisations: list  # (pk, name)


def territories():
    from partners.models import Organisation
    from plans.models import Coalition

    found = []
    for coalition in Coalition.objects.order_by("slug"):
        number = int(coalition.slug.rsplit("-", 1)[1])  # tsa-0001: membre-0001, coord-0001
        plan = coalition.plans.order_by("-start").first()
        actions = list(plan.actions.order_by("sort_key").values_list("pk", "code"))
        organisations = (
            Organisation.objects.filter(action_links__action__plan=plan)
            .distinct()
            .order_by("pk")
            .values_list("pk", "name")
        )
        found.append(
            Territory(
                number=number,
                name=coalition.name,
                plan_slug=plan.slug,
                plan_title=plan.title,
                codes=[code for _pk, code in actions],
                action_pks=[pk for pk, _code in actions],
                organisations=list(organisations[:ORGANISATIONS_PER_MEMBER]),
            )
        )
    return found


def member_territories(count, found):
    """A quarter of the members on coalition 0001, the rest spread over the others."""
    first = max(1, round(count * FIRST_COALITION_SHARE))
    others = found[1:] or found
    return [found[0] if index < first else others[(index - first) % len(others)]
            for index in range(count)]  # fmt: skip


# Measuring ----------------------------------------------------------------------------------


class OutOfBudget(Exception):
    """The run is over: its duration has passed or its requests are spent."""


class Budget:
    """The run's bounds, shared by the threads; `on_start` is called as the clock starts."""

    def __init__(self, duration, max_requests, on_start=None):
        self.on_start = on_start
        self.duration = duration
        self.left = max_requests
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.started = self.deadline = None
        self.stopped_by = "interrupted"

    def start(self):
        if self.on_start:
            self.on_start()
        self.started = time.perf_counter()
        self.deadline = self.started + self.duration

    def take(self):
        """One more request, or OutOfBudget."""
        with self.lock:
            if not self.stop.is_set():
                if time.perf_counter() >= self.deadline:
                    self.stopped_by = "duration"
                    self.stop.set()
                elif self.left <= 0:
                    self.stopped_by = "max-requests"
                    self.stop.set()
                else:
                    self.left -= 1
                    return
        raise OutOfBudget


class Stats:
    """Latencies and errors per page kind, shared by the threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.errors = Counter()
        self.samples = defaultdict(list)

    def record(self, kind, seconds, path, error=None):
        """A request's latency (None: not a request) and its error, if any."""
        with self.lock:
            if seconds is not None:
                self.latencies[kind].append(seconds)
            if error:
                self.errors[kind] += 1
                if len(self.samples[kind]) < ERROR_SAMPLES:
                    self.samples[kind].append(f"{path}: {error}")


def fetch(browser, stats, kind, method, path, fields=None, referer=None):
    """The response, or None after recording a network error or a timeout."""
    start = time.perf_counter()
    try:
        return browser.request(method, path, fields, referer)
    except (OSError, http.client.HTTPException) as error:
        stats.record(kind, time.perf_counter() - start, path, f"{type(error).__name__} {error}")
        return None


def visit(browser, stats, budget, kind, path, expected):
    """GET a page; it must answer 200 and hold every `expected` string (as HTML)."""
    budget.take()
    response = fetch(browser, stats, kind, "GET", path)
    if response is None:
        return None
    error = None
    if response.status != 200:
        error = f"HTTP {response.status} {response.location}".strip()
    else:
        missing = [text for text in expected if text not in response.text]
        if missing:
            error = f"page without {missing[0]!r}"
    stats.record(kind, response.seconds, path, error)
    return None if error else response


def log_in(browser, stats, login_path, username, password, next_path):
    """Log in through a login form (counted apart, before the clock)."""
    page = fetch(browser, stats, "login", "GET", login_path)
    if page is None:
        return False
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    stats.record("login", page.seconds, login_path, None if token else f"HTTP {page.status}")
    if not token:
        return False
    fields = [
        ("csrfmiddlewaretoken", token[1]),
        ("username", username),
        ("password", password),
        ("next", next_path),
    ]
    response = fetch(browser, stats, "login", "POST", login_path, fields, referer=login_path)
    if response is None:
        return False
    ok = response.status == 302 and "sessionid" in browser.cookies
    stats.record("login", response.seconds, login_path, None if ok else f"{username} refused")
    return ok


def pause(budget, rng, think):
    if think > 0:
        budget.stop.wait(rng.uniform(0, 2 * think))


# The simulated users ------------------------------------------------------------------------


def member(browser, stats, budget, territory, rng, think, plan_only=False):
    slug, escape = territory.plan_slug, html.escape
    plan = f"/plans/{slug}/"
    while plan_only:  # one page's throughput, nothing else served
        visit(browser, stats, budget, "plan", plan, [escape(territory.plan_title)])
        pause(budget, rng, think)
    while True:
        visit(browser, stats, budget, "home", "/", [escape(territory.name), f'href="{plan}"'])
        visit(browser, stats, budget, "plan", plan, [escape(territory.plan_title)])
        for code in rng.sample(territory.codes, min(len(territory.codes), rng.randint(1, 3))):
            path = f"{plan}actions/{urllib.parse.quote(code)}/"
            visit(browser, stats, budget, "action", path, [f'<span class="code">{escape(code)}'])
        if rng.random() < CHANGES_SHARE:
            path = f"{plan}changements/"
            visit(browser, stats, budget, "changes", path, [escape(territory.plan_title)])
        if territory.organisations and rng.random() < ORGANISATION_SHARE:
            pk, name = rng.choice(territory.organisations)
            visit(browser, stats, budget, "organisation", f"/organisations/{pk}/", [escape(name)])
        pause(budget, rng, think)


@dataclass
class Save:
    username: str
    pk: int
    token: str
    status: str | None  # the new status sent, if the save changed it
    confirmed: bool = False  # answered by the redirect to the change list


def coordinator(browser, stats, budget, territory, rng, think, username, saves):
    sequence = 0
    while True:
        pk = rng.choice(territory.action_pks)
        path = f"/admin/actions/action/{pk}/change/"
        page = visit(browser, stats, budget, "admin_form", path, ['id="action_form"'])
        if page is None:
            continue
        form = FormFields("action_form", "_save")
        form.feed(page.text)
        form.close()
        values = dict(form.fields)
        if "means" not in values or "status" not in values or form.submit is None:
            stats.record("admin_form", None, path, "form without means, status or save button")
            continue
        sequence += 1
        save = Save(username, pk, f"[charge {territory.number}-{sequence:04d}]", None)
        if rng.random() < STATUS_CHANGE_SHARE:
            choices = [s for s in STATUSES_WITHOUT_REASON if s != values["status"]]
            save.status = rng.choice(choices)
        fields = []
        for name, value in form.fields:
            if name == "means":
                value = f"{value.rstrip()} {save.token}".lstrip()
            elif name == "status" and save.status:
                value = save.status
            fields.append((name, value))
        fields.append(form.submit)

        budget.take()
        saves.append(save)  # sent, whatever comes back
        response = fetch(browser, stats, "admin_save", "POST", path, fields, referer=path)
        if response is None:
            continue
        error = None
        if response.status == 302:
            target = urllib.parse.urlsplit(response.location).path
            save.confirmed = target == "/admin/actions/action/"
            if not save.confirmed:
                error = f"redirected to {response.location}"
        elif response.status == 200:
            error = "form refused: " + " | ".join(form_errors(response.text))
        else:
            error = f"HTTP {response.status}"
        stats.record("admin_save", response.seconds, path, error)
        pause(budget, rng, think)


def run_users(args, server, found, password, stats, budget, saves):
    """Log everyone in, start the clock once all are in, run until the budget is out."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = []
    for index, territory in enumerate(member_territories(args.members, found)):
        users.append(("member", f"membre-{territory.number:04d}", territory, index))
    for number in range(1, args.coordinators + 1):
        users.append(("coordinator", f"coord-{number:04d}", found[number - 1], number))
    existing = set(User.objects.filter(username__in=[u[1] for u in users]).values_list(
        "username", flat=True
    ))  # fmt: skip
    missing = sorted({u[1] for u in users} - existing)
    if missing:
        raise SystemExit(f"No such users in the generated data: {', '.join(missing)}")

    start_line = threading.Barrier(len(users) + 1, action=budget.start)
    logged_in = []

    def user(role, username, territory, index):
        browser = Browser(server.port, args.request_timeout)
        rng = random.Random(f"{args.seed}-{role}-{index}")
        if role == "member":
            ok = log_in(browser, stats, "/comptes/login/", username, password, "/")
        else:
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
            if role == "member":
                member(browser, stats, budget, territory, rng, args.think, args.plan_only)
            else:
                coordinator(browser, stats, budget, territory, rng, args.think, username, saves)
        except OutOfBudget:
            pass
        except Exception as error:  # a bug of the load test itself: counted, not hidden
            stats.record("client", None, username, f"{type(error).__name__}: {error}")
            raise
        finally:
            browser.close()

    threads = [threading.Thread(target=user, args=u, daemon=True) for u in users]
    for thread in threads:
        thread.start()
    try:
        start_line.wait()
        log(f"{len(logged_in)} of {len(users)} users logged in; running…")
        for thread in threads:  # each stops at its next request once the budget is out
            while thread.is_alive():
                thread.join(1)  # a short join, so that Ctrl-C gets through
    except (KeyboardInterrupt, threading.BrokenBarrierError):
        budget.stop.set()
        start_line.abort()
        for thread in threads:
            thread.join(args.request_timeout + 5)
        raise
    return time.perf_counter() - budget.started, len(logged_in), len(users)


# Where the machine's CPU went ---------------------------------------------------------------

MAIN_PARTS = ["load generator", "gunicorn", "postgres"]


def cpu_snapshot(server):
    """CPU seconds so far of every live process and of the children it has waited for (so
    the time of a PostgreSQL backend or gunicorn worker that ended goes to its parent), as
    {pid: (part, seconds)}, where part is one of MAIN_PARTS or the process's name; and the
    machine's busy seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()  # from the state, the 3rd field, on
        pid, parent = int(entry.name), int(fields[1])
        if pid == os.getpid():
            part = "load generator"
        elif server.process.pid in (pid, parent):
            part = "gunicorn"
        elif name == "postgres":
            part = "postgres"
        else:
            part = name
        # utime, stime, cutime, cstime
        processes[pid] = (part, sum(int(n) for n in fields[11:15]) / tick)
    # The first line of /proc/stat: user nice system idle iowait irq softirq steal (ticks).
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return {"processes": processes, "machine": (sum(ticks) - ticks[3] - ticks[4]) / tick}


def cpu_used(before, after):
    """CPU seconds used between two snapshots by the load generator, gunicorn, PostgreSQL
    and the rest of the machine (a busy neighbour makes every figure worse), with the
    rest's biggest users among the processes seen. A process born in between counts in full;
    one gone in between counts in its parent's children's time, less what it had used before.
    """
    used = Counter()
    for pid, (part, seconds) in after["processes"].items():
        part_before, seconds_before = before["processes"].get(pid, (part, 0.0))
        used[part] += seconds - (seconds_before if part_before == part else 0.0)
    for pid, (part, seconds) in before["processes"].items():
        if pid not in after["processes"]:
            used[part] -= seconds
    result = {part: used.pop(part, 0.0) for part in MAIN_PARTS}
    machine = after["machine"] - before["machine"]
    result["others"] = max(0.0, machine - sum(result.values()))
    result = {part: round(seconds, 1) for part, seconds in result.items()}
    result["others_seen"] = {name: round(t, 1) for name, t in used.most_common(3) if t >= 0.5}
    return result


# Checking the writes ------------------------------------------------------------------------


def verify(saves, before):
    """Lost writes among the confirmed saves, as (save, what is missing)."""
    from django.contrib.auth import get_user_model

    from actions.models import Action, ProgressNote

    confirmed = [save for save in saves if save.confirmed]
    users = dict(
        get_user_model()
        .objects.filter(username__in={s.username for s in confirmed})
        .values_list("username", "pk")
    )
    pks = {save.pk for save in confirmed}
    history = defaultdict(list)
    records = Action.history.filter(id__in=pks, history_id__gt=before["history"])
    for pk, means, user_id in records.values_list("id", "means", "history_user_id"):
        history[pk].append((means, user_id))
    current = dict(Action.objects.filter(pk__in=pks).values_list("pk", "means"))
    notes = Counter(
        ProgressNote.objects.filter(
            action_id__in=pks, pk__gt=before["note"], kind=ProgressNote.Kind.STATUS_CHANGE
        ).values_list("action_id", "status_to", "author_id")
    )

    lost = []
    last = {}  # each action is saved by one coordinator only, in the order of `saves`
    expected_notes = Counter()
    for save in confirmed:
        user_id = users[save.username]
        if not any(save.token in means and by == user_id for means, by in history[save.pk]):
            lost.append((save, "no history record with its token by its coordinator"))
        last[save.pk] = save
        if save.status:
            expected_notes[save.pk, save.status, user_id] += 1
    for pk, save in last.items():
        if save.token not in (current.get(pk) or ""):
            lost.append((save, "last token not in the action's means"))
    for (pk, status, user_id), count in expected_notes.items():
        found = notes[pk, status, user_id]
        if found < count:
            save = next(s for s in confirmed if s.pk == pk and s.status == status)
            lost.append((save, f"{count - found} status_change note(s) to {status} missing"))
    return lost


def markers():
    """The last history record and progress note before the run."""
    from django.db.models import Max

    from actions.models import Action, ProgressNote

    return {
        "history": Action.history.aggregate(m=Max("history_id"))["m"] or 0,
        "note": ProgressNote.objects.aggregate(m=Max("pk"))["m"] or 0,
    }


# Reading gunicorn's logs --------------------------------------------------------------------


def page_kind(method, path):
    routes = [
        ("home", r"/"),
        ("plan", r"/plans/[^/]+/"),
        ("action", r"/plans/[^/]+/actions/[^/]+/"),
        ("changes", r"/plans/[^/]+/changements/"),
        ("organisation", r"/organisations/\d+/"),
        ("admin_save" if method == "POST" else "admin_form", r"/admin/actions/action/\d+/change/"),
    ]
    return next((kind for kind, route in routes if re.fullmatch(route, path)), "other")


def read_logs(server):
    """Server-side times per page kind, 5xx responses, and what gunicorn's log says."""
    times, server_errors = defaultdict(list), []
    for line in server.access_path.read_text().splitlines():
        status, milliseconds, method, path = line.split(" ", 3)
        path = path.strip('"')
        if status.startswith("5"):
            server_errors.append(f"{status} {method} {path}")
        times[page_kind(method, path)].append(int(milliseconds) / 1000)
    text = server.log_path.read_text(errors="replace")
    problems = [
        line
        for line in text.splitlines()
        if "Traceback" in line or "[ERROR]" in line or "WORKER TIMEOUT" in line
        or line.startswith(("Internal Server Error", "Forbidden", "Bad Request"))
    ]  # fmt: skip
    traceback = ""
    if "Traceback" in text:
        start = text.index("Traceback")
        traceback = "\n".join(text[start:].splitlines()[:60])
    return times, server_errors, problems, traceback


# The report ---------------------------------------------------------------------------------


def percentile(values, p):
    """Nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)] if values else None


def latency_row(values, errors, served=None):
    values = sorted(values)
    row = {
        "requests": len(values),
        "errors": errors,
        **{f"p{p}_ms": ms(percentile(values, p)) for p in (50, 90, 99)},
        "max_ms": ms(values[-1] if values else None),
    }
    if served is not None:
        served = sorted(served)
        row["server_p50_ms"] = ms(percentile(served, 50))
        row["server_p99_ms"] = ms(percentile(served, 99))
    return row


def ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


def table(results):
    def cell(value, width):
        text = "–" if value is None else f"{value:,}" if isinstance(value, int) else f"{value}"
        return text.rjust(width)

    run, saves, cpu = results["run"], results["saves"], results["cpu_seconds"]
    others_seen = ", ".join(f"{name} {t:.1f} s" for name, t in cpu["others_seen"].items())
    others_seen = f" (among them {others_seen})" if others_seen else ""
    columns = ["requests", "errors", "p50_ms", "p90_ms", "p99_ms", "max_ms"]
    columns += ["server_p50_ms", "server_p99_ms"]
    header = f"{'page':<18}" + "".join(
        cell(c.replace("_ms", " ms").replace("_", " "), 10 if c.startswith("p") else 14)
        for c in columns
    )
    lines = [
        f"Load test: {results['actions']:,} actions, gunicorn {results['workers']} sync "
        f"workers, {results['members']} members + {results['coordinators']} coordinators, "
        f"{results['cpus']} CPUs, {results['database']}",
        f"Run: {run['seconds']:.1f} s (stopped by {run['stopped_by']}), "
        f"{run['requests']:,} requests, {run['throughput']:.1f} requests/s",
        "",
        header,
        "-" * len(header),
    ]
    rows = [*((kind, results["pages"][kind]) for kind in PAGE_KINDS), ("all", results["all"])]
    for name, row in rows:
        if name == "all":
            lines.append("-" * len(header))
        lines.append(
            f"{name:<18}"
            + "".join(cell(row.get(c), 10 if c.startswith("p") else 14) for c in columns)
        )
    login = results["login"]
    lines += [
        f"{'login (untimed)':<18}"
        + "".join(cell(login.get(c), 10 if c.startswith("p") else 14) for c in columns),
        "",
        "Latency: as the client saw it (queueing for a worker included); server: the "
        "worker's time (gunicorn access log).",
        f"Saves: {saves['sent']} sent, {saves['confirmed']} confirmed (302), "
        f"{saves['verified']} verified, {saves['lost']} lost; "
        f"{saves['status_changes']} with a status change, on {saves['actions']} actions.",
        f"CPU used during the run: load generator {cpu['load generator']:.1f} s, gunicorn "
        f"workers {cpu['gunicorn']:.1f} s, PostgreSQL {cpu['postgres']:.1f} s, other "
        f"processes {cpu['others']:.1f} s{others_seen} (of "
        f"{results['cpus'] * run['seconds']:.0f} s on {results['cpus']} CPUs).",
        f"Load test threads crashed: {results['client_crashes']}. "
        f"Server log: {len(results['server_errors'])} 5xx responses, "
        f"{len(results['log_problems'])} error lines.",
        f"Setup {results['setup_seconds']:.0f} s (migrate, generate_data, collectstatic, "
        f"gunicorn, logins).",
    ]
    available = results["cpus"] * run["seconds"]
    if available and cpu["others"] > 0.1 * available:
        lines.append(
            f"WARNING: other processes took {cpu['others'] / available:.0%} of the CPU during "
            "the run; the figures are worse than the application alone would give."
        )
    if results["error_samples"]:
        lines += ["", "Error samples:"]
        for kind, samples in results["error_samples"].items():
            lines += [f"  {kind}: {sample}" for sample in samples]
    if results["lost_writes"]:
        lines += ["", "Lost writes (first 20):"]
        lines += [f"  {entry}" for entry in results["lost_writes"][:20]]
    if results["server_errors"] or results["log_problems"]:
        lines += ["", "Server log (first lines):"]
        lines += [
            f"  {line}" for line in (results["server_errors"] + results["log_problems"])[:20]
        ]
    if results["traceback"]:
        lines += ["", "First traceback in gunicorn's log:", results["traceback"]]
    return "\n".join(lines)


def main():
    script_start = time.perf_counter()
    args = parse_args()
    with scratch_database(args.database_url, keep=args.keep, prefix="casal-load-") as (
        _url,
        workdir,
    ):
        log(f"Working directory {workdir}")
        results = load_test(args, workdir, script_start)
    results["script_seconds"] = round(time.perf_counter() - script_start, 1)

    out = sys.stderr if args.json == "-" else sys.stdout  # keep stdout for the JSON
    print(table(results), file=out)
    print(f"Whole script: {results['script_seconds']:.0f} s", file=out)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    failed = (
        results["all"]["errors"]
        or results["login"]["errors"]
        or results["client_crashes"]
        or results["lost_writes"]
        or results["server_errors"]
        or results["log_problems"]
    )
    sys.exit(1 if failed else 0)


def load_test(args, workdir, script_start):
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

    from devdata.synthetic import DEFAULT_PASSWORD

    found = territories()
    if args.coordinators > len(found):
        raise SystemExit(f"--coordinators: only {len(found)} coalitions at this size")
    before = markers()
    database = database_label()
    connection.close()  # idle during the run

    stats, saves, cpu = Stats(), [], {}
    log(f"Starting gunicorn with {args.workers} workers…")
    # gunicorn's own timeout is past the client's: a slow request shows as a client timeout.
    with serve(workdir, args.workers, timeout=args.request_timeout + 5) as server:
        budget = Budget(
            args.duration,
            args.max_requests,
            on_start=lambda: cpu.update(before=cpu_snapshot(server)),
        )
        log("Logging the users in…")
        seconds, logged_in, user_count = run_users(
            args, server, found, DEFAULT_PASSWORD, stats, budget, saves
        )
        cpu["after"] = cpu_snapshot(server)
        setup_seconds = budget.started - script_start
        log(f"Ran {seconds:.1f} s; stopping gunicorn…")
    server_times, server_errors, log_problems, traceback = read_logs(server)

    log(f"Checking {sum(s.confirmed for s in saves)} saves…")
    lost = verify(saves, before)
    connection.close()

    total = sum(len(stats.latencies[kind]) for kind in PAGE_KINDS)
    lost_saves = {id(save) for save, _why in lost}
    confirmed = [s for s in saves if s.confirmed]
    return {
        "actions": args.actions,
        "workers": args.workers,
        "members": args.members,
        "coordinators": args.coordinators,
        "users_logged_in": f"{logged_in}/{user_count}",
        "cpus": os.cpu_count(),
        "database": database,
        "python": sys.version.split()[0],
        "django": __import__("django").get_version(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "setup_seconds": round(setup_seconds, 1),
        "run": {
            "seconds": round(seconds, 2),
            "stopped_by": budget.stopped_by,
            "requests": total,
            "throughput": total / seconds if seconds else 0,
            "max_requests": args.max_requests,
            "duration_limit": args.duration,
            "think": args.think,
        },
        "pages": {
            kind: latency_row(stats.latencies[kind], stats.errors[kind], server_times[kind])
            for kind in PAGE_KINDS
        },
        "all": latency_row(
            [t for kind in PAGE_KINDS for t in stats.latencies[kind]],
            sum(stats.errors[kind] for kind in PAGE_KINDS),
            [t for kind in PAGE_KINDS for t in server_times[kind]],
        ),
        "login": latency_row(stats.latencies["login"], stats.errors["login"]),
        "client_crashes": stats.errors["client"],
        "saves": {
            "sent": len(saves),
            "confirmed": len(confirmed),
            "verified": len(confirmed) - len(lost_saves),
            "lost": len(lost_saves),
            "status_changes": sum(1 for s in confirmed if s.status),
            "actions": len({s.pk for s in confirmed}),
        },
        "lost_writes": [f"{asdict(save)}: {why}" for save, why in lost],
        "cpu_seconds": cpu_used(cpu["before"], cpu["after"]),
        "error_samples": {kind: samples for kind, samples in stats.samples.items() if samples},
        "server_errors": server_errors,
        "log_problems": log_problems,
        "traceback": traceback,
    }


if __name__ == "__main__":
    main()
