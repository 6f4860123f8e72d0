"""Server time and queries of the member pages and of the admin's action list, at several sizes.

    .venv/bin/python benchmarks/pages.py [--sizes 50 5000 100000] [--runs 7]
        [--database-url postgres://postgres@127.0.0.1:5432/casal_bench]

For each size, in a child process of its own and a fresh database (a temporary SQLite file
unless --database-url is given: that PostgreSQL database is DROPPED and created anew), it fills
the database with `devdata.synthetic.generate(actions=size)`, then requests each page through
Django's test client, as the people who use it, with DEBUG off: one request to warm up, then
--runs timed requests, whose median is the figure (each run requests every page in turn);
the queries are those of one request.

Each page is also set against its floor: the very queries one of its requests sent (recorded
with the same parameters), replayed raw through the database cursor with every row fetched,
--runs times, median. "page ÷ its raw SQL" is then what the application adds to the database's
own work (middleware, ORM, access checks, templates): the ratio every later change is measured
by, on the same machine in the same run.

The measured plan is the first coalition's current plan, 50 actions at every size, so that what
grows from one size to the next is the rest of the database, not the page's own data. The
admin's action list is measured on the same plan (filtered by it, as a coordinator would) and
unfiltered. See benchmarks/README.md.
"""

import argparse
import datetime
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

from common import POSTGRES_URL, database_label, log, scratch_database, setup_django

# Name, who asks, and the path (filled in with the measured plan's objects).
PAGES = [
    ("home", "member", "/"),
    ("plan", "member", "/plans/{plan}/"),
    ("plan, filtered", "member", "/plans/{plan}/?status=in_progress&organisation={local}"),
    ("action", "member", "/plans/{plan}/actions/{action}/"),
    ("organisation (own)", "member", "/organisations/{local}/"),
    ("organisation (regional)", "member", "/organisations/{regional}/"),
    ("changes", "member", "/plans/{plan}/changements/"),
    ("assembly report", "member", "/plans/{plan}/rapport/"),
    ("funders' workbook", "member", "/plans/{plan}/classeur.xlsx"),
    ("admin: actions of the plan", "coordinator", "/admin/actions/action/?plan__id__exact={id}"),
    ("admin: all actions", "coordinator", "/admin/actions/action/"),
    ("admin: action form", "coordinator", "/admin/actions/action/{action_id}/change/"),
    # What grows with the data by design: everything a superuser (a regional funder) reads.
    ("home, every coalition", "superuser", "/"),
    ("organisation (regional), every coalition", "superuser", "/organisations/{regional}/"),
]
# Each member page against the admin page a coordinator would otherwise open.
COMPARISONS = [
    ("plan", "admin: actions of the plan"),
    ("plan", "admin: all actions"),
    ("action", "admin: action form"),
]
# Issue 16: (member page, admin page, least ratio member/admin, in words).
TARGETS = [
    ("plan", "admin: actions of the plan", 1.0, "plan / admin list of the plan ≥ 1"),
    ("action", "admin: action form", 0.5, "action / admin action form ≥ 0.5 (form ≤ 2×)"),
]
USERS = {"member": "membre-0001", "coordinator": "coord-0001", "superuser": "synth-admin"}


def recorded_queries(client, path):
    """[(sql, params, many)] of one request, as handed to the database driver."""
    from django.db import connection

    recorded = []

    def record(execute, sql, params, many, context):
        recorded.append((sql, params, many))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        client.get(path)
    return recorded


def replay(queries):
    """Seconds to send `queries` raw through the cursor and fetch every row: the floor."""
    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql, params, many in queries:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()
    return time.perf_counter() - start


def measure_size(size, runs, seed, only=None):
    """Build `size` actions in the current database and measure every page; a dict."""
    os.environ.pop("DEBUG", None)  # production settings, as served
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from actions.models import Action
    from devdata.synthetic import REGIONAL_ORGANISATIONS, generate
    from partners.models import Organisation
    from plans.models import Plan

    # The collected manifest is a deployment step; plain static files serve the same pages.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()

    call_command("migrate", verbosity=0, interactive=False)
    log(f"Generating {size:,} actions…")
    start = time.perf_counter()
    summary = generate(actions=size, seed=seed)
    generated = time.perf_counter() - start
    log(f"  in {generated:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum would have done by the time anyone reads
    plan = Plan.objects.get(slug=summary.first_plan)
    action = plan.actions.get(code="1.1.1")
    member_org = plan.coalition.memberships.get(user__username=USERS["member"]).organisation
    # The regional organisation (one that works with several coalitions) most present in the
    # measured plan.
    regional = (
        Organisation.objects.filter(
            name__in=[name for name, _kind in REGIONAL_ORGANISATIONS],
            action_links__action__plan=plan,
        )
        .annotate(links=Count("action_links"))
        .order_by("-links", "pk")
        .first()
    )
    values = {
        "plan": plan.slug,
        "id": plan.pk,
        "action": action.code,
        "action_id": action.pk,
        "local": member_org.pk,
        "regional": regional.pk,
    }
    from django.contrib.auth import get_user_model

    clients = {}
    for role, username in USERS.items():
        # As behind the load balancer, which terminates HTTPS and says so (README).
        clients[role] = Client(headers={"X-Forwarded-Proto": "https"})
        clients[role].force_login(get_user_model().objects.get(username=username))

    results = []
    for name, role, template in PAGES:
        if only and name not in only:
            continue
        path = template.format(**values)
        client = clients[role]
        response = client.get(path)  # warm-up: caches, connection, translations
        if response.status_code != 200:
            raise SystemExit(f"{path} as {role}: {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        queries = len(captured)  # now: the next request empties the connection's log
        sent = recorded_queries(client, path)
        replay(sent)  # warm-up, as the page's first request
        floor = statistics.median(replay(sent) for _ in range(runs))
        results.append(
            {
                "page": name,
                "user": role,
                "path": path,
                "queries": queries,
                "sql_ms": floor * 1000,
                "bytes": len(response.content),
                "timings": [],
                "cpu": [],
            }
        )
    # Each run requests every page once, in turn: a busy moment of the machine (its other
    # core is shared) then slows all pages alike, and the ratios of one run hold.
    for _ in range(runs):
        for result in results:
            client = clients[result["user"]]
            start, cpu_start = time.perf_counter(), time.process_time()
            client.get(result["path"])
            result["timings"].append(time.perf_counter() - start)
            result["cpu"].append(time.process_time() - cpu_start)
    for result in results:
        timings = result.pop("timings")
        result["median_ms"] = statistics.median(timings) * 1000
        result["min_ms"] = min(timings) * 1000
        # The process's own CPU time: what the other programs of a busy machine do not add
        # to (on PostgreSQL it leaves out the database server's).
        result["cpu_ms"] = statistics.median(result.pop("cpu")) * 1000
        result["ratio"] = result["median_ms"] / result["sql_ms"]
        log(
            f"  {result['page']:<42} {result['median_ms']:8.1f} ms {result['queries']:4} q"
            f" {result['sql_ms']:7.1f} ms of SQL {result['ratio']:6.1f}×"
        )
    return {
        "size": size,
        "actions": Action.objects.count(),
        "plans": Plan.objects.count(),
        "counts": summary.counts,
        "history_records": summary.history,
        "generate_seconds": generated,
        "database": database_label(),
        "pages": results,
    }


def run_child(size, args):
    """One size in a child process with its own database; its figures."""
    command = [sys.executable, __file__, "--child", str(size), "--runs", str(args.runs)]
    command += ["--seed", str(args.seed)]
    if args.pages:
        command += ["--pages", *args.pages]
    if args.database_url:
        command += ["--database-url", args.database_url]
    if args.keep:
        command.append("--keep")
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(output)


def growth(before, after):
    return f"{after / before:.1f}×" if before else "–"


def aligned(rows):
    """Text table lines: the first two columns (page, user) left-aligned, figures right, a rule
    under the header row."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def table(results):
    sizes = [result["size"] for result in results]
    first = results[0]
    lines = [
        f"Pages: {first['database']}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, {datetime.date.today()}, median of the timed requests",
        "",
        "Data: "
        + "; ".join(
            f"{r['actions']:,} actions in {r['plans']:,} plans, {r['history_records']:,} "
            f"history records (generated in {r['generate_seconds']:.0f} s)"
            for r in results
        ),
        "",
    ]
    header = ["page", "user"]
    header += [f"queries @{size:,}" for size in sizes]
    header += [f"ms @{size:,}" for size in sizes]
    header += [f"CPU ms @{size:,}" for size in sizes]
    header += [f"{a:,}→{b:,}" for a, b in itertools.pairwise(sizes)]
    rows = [header]
    measured = [(page["page"], page["user"]) for page in first["pages"]]
    for index, (name, role) in enumerate(measured):
        pages = [result["pages"][index] for result in results]
        queries = [page["queries"] for page in pages]
        times = [page["median_ms"] for page in pages]
        flag = "" if len(set(queries)) == 1 else "  ← queries grow"
        cpus = [page["cpu_ms"] for page in pages]
        row = [name, role, *(str(q) for q in queries), *(f"{t:.1f}" for t in times)]
        row += [f"{t:.1f}" for t in cpus]
        row += [growth(a, b) for a, b in itertools.pairwise(times)]
        row[-1] += flag
        rows.append(row)
    lines += aligned(rows)
    lines += ["", "Each page ÷ its own queries replayed raw (ms of SQL, median):"]
    rows = [["page", "user"]]
    rows[0] += [f"SQL ms @{size:,}" for size in sizes] + [f"ratio @{size:,}" for size in sizes]
    for index, (name, role) in enumerate(measured):
        pages = [result["pages"][index] for result in results]
        rows.append(
            [name, role]
            + [f"{page['sql_ms']:.1f}" for page in pages]
            + [f"{page['ratio']:.1f}×" for page in pages]
        )
    lines += aligned(rows)
    lines += ["", "Member page against the admin page a coordinator would otherwise open:"]
    by_name = {name: index for index, (name, _role) in enumerate(measured)}
    for page, admin in COMPARISONS:
        if page not in by_name or admin not in by_name:
            continue
        ratios = [
            r["pages"][by_name[page]]["median_ms"] / r["pages"][by_name[admin]]["median_ms"]
            for r in results
        ]
        figures = ", ".join(
            f"{ratio:.2f}× at {size:,}" for ratio, size in zip(ratios, sizes, strict=True)
        )
        lines.append(f"  {page} / {admin}: {figures}")
        cpu = ", ".join(
            f"{r['pages'][by_name[page]]['cpu_ms'] / r['pages'][by_name[admin]]['cpu_ms']:.2f}×"
            f" at {r['size']:,}"
            for r in results
        )
        lines.append(f"    the same in CPU time of the server's process: {cpu}")
    lines += ["", "Targets of issue 16 (a ratio of one run each):"]
    for page, admin, floor, words in TARGETS:
        if page not in by_name or admin not in by_name:
            continue  # not measured this run (--pages)
        for result in results:
            ratio = (
                result["pages"][by_name[page]]["median_ms"]
                / result["pages"][by_name[admin]]["median_ms"]
            )
            cpu = (
                result["pages"][by_name[page]]["cpu_ms"]
                / result["pages"][by_name[admin]]["cpu_ms"]
            )
            verdict = "met" if ratio >= floor else "NOT met"
            size = f"{result['size']:,}"
            lines.append(f"  {words} at {size}: {ratio:.2f}× ({verdict}); in CPU time {cpu:.2f}×")
    growth_page = by_name["admin: all actions"]
    first_time = results[0]["pages"][growth_page]["median_ms"]
    for result in results[1:]:
        ratio = result["pages"][growth_page]["median_ms"] / first_time
        cpu = result["pages"][growth_page]["cpu_ms"] / results[0]["pages"][growth_page]["cpu_ms"]
        sizes_said = f"at {result['size']:,} / at {results[0]['size']:,}"
        lines.append(
            f"  admin: all actions {sizes_said}: {ratio:.2f}×, in CPU time {cpu:.2f}×"
            " (flat: within the noise of 1.0×)"
        )
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 5000, 100000])
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        help=f"a PostgreSQL database to DROP and recreate for each size, e.g. {POSTGRES_URL}",
    )
    parser.add_argument("--keep", action="store_true", help="keep each size's database")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    parser.add_argument(
        "--pages", nargs="+", metavar="NAME", help='only these pages, e.g. "plan" "action"'
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.child:
        with scratch_database(args.database_url, keep=args.keep):
            print(json.dumps(measure_size(args.child, args.runs, args.seed, args.pages)))
        return
    results = [run_child(size, args) for size in args.sizes]
    print(table(results))
    if args.json:
        with open(args.json, "w") as target:
            json.dump(results, target, indent=2)


if __name__ == "__main__":
    main()
