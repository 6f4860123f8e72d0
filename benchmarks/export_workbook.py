"""Benchmark of the funders' workbook export (reports/workbook.py) against its floor.

    DEBUG=1 .venv/bin/python benchmarks/export_workbook.py [--actions 10000]
        [--database-url postgres://postgres@127.0.0.1:5432/casal_bench] [--json out.json]

It builds a synthetic plan in a fresh database (a temporary SQLite file unless --database-url
is given), then measures, each run in a fresh child process so that peak memory is its own:

- export: `reports.workbook.chunks(plan, since=..., language="fr")`, the pieces the view
  streams, written to a file as they come; the time to the first piece is its time to first
  byte;
- floor: openpyxl's `Workbook(write_only=True)` writing exactly the cell values of that
  export, read back from its file beforehand, with no style, rich text or page set-up.

For each: the best wall time of --runs runs and the best CPU time of the job's process
(which a busy machine inflates far less than the wall time), the peak of Python allocations
under tracemalloc (in a run of its own, since tracing slows the job down; --no-trace skips
it) and how far the process's peak resident set size rose above its size when the job
started. See benchmarks/README.md.
"""

import argparse
import cProfile
import datetime
import gc
import io
import json
import multiprocessing
import os
import pickle
import pstats
import random
import resource
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

from common import database_label, log, scratch_database, setup_django

# The state date of the figures in README.md; the changes are asked for since 30 days before.
TODAY = datetime.date(2026, 11, 22)
SINCE = TODAY - datetime.timedelta(days=30)
LANGUAGE = "fr"

OBJECTIVES = 10
SUB_OBJECTIVES = 10  # per objective
ORGANISATIONS = 300
PARTNERS_PER_ACTION = 3
BATCH_SIZE = 2000
SEED = 20261122

# Thresholds past which the export deserves a profile (see --profile).
TIME_RATIO_LIMIT = 10
MEMORY_RATIO_LIMIT = 5

TITLE_WORDS = [
    "Soutenir",
    "Développer",
    "Consolider",
    "Documenter",
    "Promouvoir",
    "Accompagner",
    "Mettre en place",
    "Évaluer",
]
TITLE_OBJECTS = [
    "l'accès aux aliments sains dans les quartiers mal desservis",
    "les marchés solidaires et les paniers à prix modique",
    "la récupération alimentaire auprès des commerces",
    "les ateliers de cuisine pour les familles",
    "le transport vers les points de service alimentaire",
    "les jardins collectifs et l'agriculture urbaine",
]


# The synthetic plan -----------------------------------------------------------------------


def build_plan(action_count):
    """A plan of `action_count` actions, written with bulk_create only.

    bulk_create sends no post_save or m2m_changed signal, so django-simple-history records
    nothing: the build is quick and the plan has no change history."""
    from django.db import transaction

    from actions.models import Action, Target, TargetValue, code_sort_key
    from devdata.synthetic import MEANS
    from partners.models import ActionPartner, Organisation
    from plans.models import Coalition, Objective, Period, Plan, SubObjective

    rng = random.Random(SEED)
    with transaction.atomic():
        (coalition,) = Coalition.objects.bulk_create(
            [
                Coalition(
                    name="Table de concertation en sécurité alimentaire (banc d'essai)",
                    short_name="TCSA",
                    slug="banc-essai",
                )
            ]
        )
        (plan,) = Plan.objects.bulk_create(
            [
                Plan(
                    coalition=coalition,
                    title="Plan d'action concerté en sécurité alimentaire 2024-2027",
                    slug="banc-essai-2024-2027",
                    kind=Plan.Kind.OPERATIONAL,
                    start=datetime.date(2024, 4, 1),
                    end=datetime.date(2027, 3, 31),
                    adopted_on=datetime.date(2024, 6, 12),
                )
            ]
        )
        # The last period holds TODAY, so the plan sheet shows a current period.
        periods = Period.objects.bulk_create(
            [
                Period(
                    plan=plan,
                    label=f"{year}-{year + 1}",
                    start=datetime.date(year, 4, 1),
                    end=datetime.date(year + 1, 3, 31),
                )
                for year in (2024, 2025, 2026)
            ]
        )
        objectives = Objective.objects.bulk_create(
            [
                Objective(plan=plan, number=number, title=f"Améliorer {TITLE_OBJECTS[number % 6]}")
                for number in range(1, OBJECTIVES + 1)
            ]
        )
        subs = SubObjective.objects.bulk_create(
            [
                SubObjective(
                    objective=objective,
                    number=number,
                    title=f"{TITLE_WORDS[number % 8]} {TITLE_OBJECTS[(number + 1) % 6]}",
                )
                for objective in objectives
                for number in range(1, SUB_OBJECTIVES + 1)
            ]
        )
        organisations = Organisation.objects.bulk_create(
            [
                Organisation(
                    name=f"Organisme communautaire {number:03d} du quartier",
                    short_name=f"OC{number:03d}" if number % 3 else "",
                    kind=rng.choice(Organisation.Kind.values),
                )
                for number in range(1, ORGANISATIONS + 1)
            ],
            batch_size=BATCH_SIZE,
        )

        statuses = Action.Status.values
        status_weights = [30, 40, 20, 6, 4]
        actions = []
        for index in range(action_count):
            sub = subs[index % len(subs)]
            code = f"{sub.objective.number}.{sub.number}.{index // len(subs) + 1}"
            status = rng.choices(statuses, status_weights)[0]
            completion = (
                rng.randrange(5, 100, 5)
                if status == Action.Status.IN_PROGRESS and rng.random() < 0.7
                else None
            )
            means = " ".join(rng.sample(MEANS, rng.randint(2, 4)))
            actions.append(
                Action(
                    plan=plan,
                    sub_objective=sub,
                    code=code,
                    sort_key=code_sort_key(code),  # Action.save() sets it, bulk_create does not
                    title=f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_OBJECTS)}",
                    means=means,
                    status=status,
                    completion=completion,
                    carrier_to_be_found=rng.random() < 0.05,
                )
            )
        actions = Action.objects.bulk_create(actions, batch_size=BATCH_SIZE)

        # Two consecutive periods each: those that ended on 2026-03-31 make open actions late.
        Schedule = Action.periods.through
        schedule = []
        for action in actions:
            first = rng.randrange(len(periods) - 1)
            schedule += [
                Schedule(action_id=action.pk, period_id=period.pk)
                for period in periods[first : first + 2]
            ]
        Schedule.objects.bulk_create(schedule, batch_size=BATCH_SIZE)

        targets = []
        for action in actions:
            targets += [
                Target(
                    action=action,
                    description="Nombre de personnes rejointes par l'action",
                    kind=Target.Kind.COUNT,
                    unit="personnes",
                    target_value=Decimal(rng.choice([50, 100, 250, 1000])),
                    order=0,
                ),
                Target(
                    action=action,
                    description="Bilan écrit présenté au comité de suivi",
                    kind=Target.Kind.DELIVERABLE,
                    is_done=rng.random() < 0.4,
                    order=1,
                ),
            ]
        targets = Target.objects.bulk_create(targets, batch_size=BATCH_SIZE)
        values = []
        for target in targets:
            if target.kind != Target.Kind.COUNT:
                continue
            reached = rng.randrange(0, int(target.target_value) + 1)
            values += [
                TargetValue(
                    target=target,
                    date=datetime.date(2025, 10, 1) + datetime.timedelta(days=rng.randrange(60)),
                    value=Decimal(reached // 2),
                ),
                TargetValue(
                    target=target,
                    date=datetime.date(2026, 6, 1) + datetime.timedelta(days=rng.randrange(120)),
                    value=Decimal(reached) + Decimal("0.5") * (rng.random() < 0.1),
                    note="Compilé par la coordination" if rng.random() < 0.2 else "",
                ),
            ]
        TargetValue.objects.bulk_create(values, batch_size=BATCH_SIZE)

        confirmations = ActionPartner.Confirmation.values
        links = []
        for action in actions:
            chosen = rng.sample(organisations, PARTNERS_PER_ACTION)
            for order, organisation in enumerate(chosen):
                role = (
                    ActionPartner.Role.CARRIER
                    if order == 0 and not action.carrier_to_be_found
                    else rng.choice([ActionPartner.Role.PARTNER, ActionPartner.Role.NOT_SPECIFIED])
                )
                links.append(
                    ActionPartner(
                        action=action,
                        organisation=organisation,
                        role=role,
                        confirmation=rng.choice(confirmations),
                        label_in_source=organisation.short_name if rng.random() < 0.1 else "",
                        order=order,
                    )
                )
        ActionPartner.objects.bulk_create(links, batch_size=BATCH_SIZE)

    return plan.pk, {
        "actions": len(actions),
        "period_links": len(schedule),
        "targets": len(targets),
        "target_values": len(values),
        "partner_links": len(links),
        "organisations": len(organisations),
    }


# The two jobs ---------------------------------------------------------------------------


def load_plan(plan_id):
    """The plan as reports.views.plan_workbook gets it."""
    from plans.models import Plan

    return Plan.objects.select_related("coalition").get(pk=plan_id)


def export_to(plan, path):
    """Write the workbook as the view streams it; the seconds to its first bytes."""
    from reports import workbook

    start = time.perf_counter()
    first = None
    with open(path, "wb") as stream:
        for piece in workbook.chunks(plan, since=SINCE, language=LANGUAGE, today=TODAY):
            if first is None and piece:
                first = time.perf_counter() - start
            stream.write(piece)
    return first


def write_floor(sheets, path):
    """The same values in the same sheets, the leanest way openpyxl writes them."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


def read_values(path):
    """[(sheet title, [row values])] of a workbook, with trailing empty cells left out."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    sheets = []
    for sheet in workbook.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            row = list(row)
            while row and row[-1] is None:
                row.pop()
            rows.append(row)
        sheets.append((sheet.title, rows))
    workbook.close()
    return sheets


def traced_size(values_path):
    """The memory that the workbook's values take as Python objects once loaded."""
    tracemalloc.start()
    with open(values_path, "rb") as source:
        sheets = pickle.load(source)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del sheets
    return size


def prepare(job, plan_id, values_path, output_path):
    """Everything a job needs before its clock starts; returns the job as a callable."""
    if job == "export":
        setup_django()
        from django.conf import settings
        from django.utils import translation

        # As in production, where DEBUG does not keep the text of every query (a few per
        # chunk of rows): measured at 50,000 actions, it made 0.2 MiB of difference.
        settings.DEBUG = False

        import reports.workbook  # noqa: F401  (imported before the baseline, like the floor)

        plan = load_plan(plan_id)
        with translation.override(LANGUAGE):  # loads the catalogue once, out of the timing
            str(plan.get_kind_display())
        return lambda: export_to(plan, output_path)
    if job == "floor":
        import openpyxl  # noqa: F401

        with open(values_path, "rb") as source:
            sheets = pickle.load(source)
        return lambda: write_floor(sheets, output_path)
    raise ValueError(job)


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def proc_status(*keys):
    """{key: bytes} of memory figures from /proc/self/status (Linux)."""
    figures = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _sep, value = line.partition(":")
            if key in keys:
                figures[key] = int(value.split()[0]) * 1024  # kB
    return figures


def reset_peak_rss():
    """Bring VmHWM, this process's peak resident set size, down to its current size."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def child(job, mode, plan_id, values_path, output_path, profile_lines=30):
    """One run of `job` in this (fresh) process. mode: "time", "trace" or "profile"."""
    run = prepare(job, plan_id, values_path, output_path)
    gc.collect()
    result = {"job": job, "mode": mode}
    if mode == "profile":
        profiler = cProfile.Profile()
        profiler.runcall(run)
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report).strip_dirs()
        stats.sort_stats("tottime").print_stats(profile_lines)
        stats.sort_stats("cumulative").print_stats(profile_lines)
        return {**result, "profile": report.getvalue()}
    # ru_maxrss survives exec on Linux: a child spawned by this large parent starts with the
    # parent's high-water mark, above anything the child reaches, so its growth reads 0. The
    # peak of the child's own address space (VmHWM), reset here, is the figure that counts.
    ru_maxrss_before = max_rss_bytes()
    reset_peak_rss()
    rss_before = proc_status("VmRSS")["VmRSS"]
    if mode == "trace":
        tracemalloc.start()
        tracemalloc.reset_peak()
    start = time.perf_counter()
    cpu_start = time.process_time()
    first_byte = run()
    result["seconds"] = time.perf_counter() - start
    # This process's own CPU time: what the job costs, whatever else the machine runs
    # (SQLite's work included; a PostgreSQL server's is not).
    result["cpu_seconds"] = time.process_time() - cpu_start
    result["first_byte_seconds"] = first_byte
    if mode == "trace":
        result["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    result["rss_before_bytes"] = rss_before
    result["rss_growth_bytes"] = proc_status("VmHWM")["VmHWM"] - rss_before
    result["ru_maxrss_before_bytes"] = ru_maxrss_before
    result["ru_maxrss_growth_bytes"] = max_rss_bytes() - ru_maxrss_before
    result["file_bytes"] = os.path.getsize(output_path)
    return result


def in_child(*args):
    """Run child(*args) in a new process started with 'spawn', and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(child, *args).result()


def measure(job, runs, plan_id, values_path, output_path, *, trace=True):
    timed = [in_child(job, "time", plan_id, values_path, output_path) for _ in range(runs)]
    traced = in_child(job, "trace", plan_id, values_path, output_path) if trace else {}
    best = min(timed, key=lambda run: run["seconds"])
    first_bytes = [run["first_byte_seconds"] for run in timed]
    return {
        "seconds": best["seconds"],
        "all_seconds": [run["seconds"] for run in timed],
        "cpu_seconds": min(run["cpu_seconds"] for run in timed),
        "all_cpu_seconds": [run["cpu_seconds"] for run in timed],
        # The slowest of the runs: the figure a proxy's timeout is up against.
        "first_byte_seconds": None if None in first_bytes else max(first_bytes),
        "all_first_byte_seconds": first_bytes,
        "traced_peak_bytes": traced.get("traced_peak_bytes"),
        "seconds_under_tracemalloc": traced.get("seconds"),
        # The largest of the untraced runs: tracemalloc's bookkeeping would inflate it.
        "rss_growth_bytes": max(run["rss_growth_bytes"] for run in timed),
        "all_rss_growth_bytes": [run["rss_growth_bytes"] for run in timed],
        "rss_before_bytes": best["rss_before_bytes"],
        "all_ru_maxrss_growth_bytes": [run["ru_maxrss_growth_bytes"] for run in timed],
        "ru_maxrss_before_bytes": best["ru_maxrss_before_bytes"],
        "file_bytes": best["file_bytes"],
    }


# Report ---------------------------------------------------------------------------------


def mib(size):
    return size / 2**20


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 1)


def traced(figures):
    size = figures["traced_peak_bytes"]
    return "–" if size is None else f"{mib(size):.1f} MiB"


def times(value):
    return "–" if value is None else f"{value:.1f}×"


def table(results):
    export, floor = results["export"], results["floor"]
    lines = [
        f"Workbook export: {results['actions']:,} actions, {results['database']}, "
        f"Python {results['python']}, openpyxl {results['openpyxl']} "
        f"({results['xml_writer']} XML writer), "
        f"today {results['today']}, since {results['since']}, best of {results['runs']}",
        "",
        f"{'':<16}{'time (s)':>10}{'CPU (s)':>9}{'first byte':>12}{'tracemalloc peak':>18}"
        f"{'peak RSS growth':>17}{'file':>10}{'queries':>9}",
    ]
    for name, figures, queries in [
        ("export", export, str(results["queries"])),
        ("floor", floor, "–"),
    ]:
        first = figures.get("first_byte_seconds")
        first = "–" if first is None else f"{first:.2f}"
        lines.append(
            f"{name:<16}{figures['seconds']:>10.2f}{figures['cpu_seconds']:>9.2f}{first:>12}"
            f"{traced(figures):>18}"
            f"{mib(figures['rss_growth_bytes']):>13.1f} MiB"
            f"{mib(figures['file_bytes']):>6.1f} MiB{queries:>9}"
        )
    ratios = results["ratios"]
    lines.append(
        f"{'export / floor':<16}{times(ratios['time']):>10}{times(ratios['cpu_time']):>9}"
        f"{'':>12}"
        f"{times(ratios['traced_peak']):>18}"
        f"{times(ratios['rss_growth']):>17}{times(ratios['file']):>10}"
    )
    lines += [
        "",
        f"The floor's input, the workbook's values as Python objects, loaded before its clock "
        f"starts: {mib(results['values_in_memory_bytes']):.1f} MiB.",
    ]
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=10_000, help="default: 10000")
    parser.add_argument(
        "--database-url",
        help="default: a temporary SQLite file. A PostgreSQL database named here is dropped "
        "and created anew, then dropped at the end unless --keep is given.",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each job; default 3")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the figures as JSON ('-': stdout)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=30,
        metavar="LINES",
        help="also profile one export with cProfile and print its top LINES functions",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory and the database"
    )
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="skip the runs under tracemalloc (4 to 7 times slower than the others)",
    )
    return parser.parse_args()


def main():
    args = parse_args()
    with scratch_database(args.database_url, keep=args.keep) as (database_url, workdir):
        results = benchmark(args, workdir, database_url)

    out = sys.stderr if args.json == "-" else sys.stdout  # keep stdout for the JSON
    print(table(results), file=out)
    limits = results["ratios"]
    if limits["time"] > TIME_RATIO_LIMIT or (limits["traced_peak"] or 0) > MEMORY_RATIO_LIMIT:
        print(
            f"\nThe export is past {TIME_RATIO_LIMIT}× the floor's time or "
            f"{MEMORY_RATIO_LIMIT}× its memory: see --profile.",
            file=out,
        )
    if "profile" in results:
        print(
            "\ncProfile of one export (top functions by own time, then cumulative time):",
            file=out,
        )
        print(results["profile"], file=out)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def benchmark(args, workdir, database_url):
    setup_django()
    import openpyxl
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    log("Migrating…")
    call_command("migrate", verbosity=0, interactive=False)
    log(f"Building a plan of {args.actions:,} actions…")
    start = time.perf_counter()
    plan_id, counts = build_plan(args.actions)
    build_seconds = time.perf_counter() - start
    log(f"Built in {build_seconds:.1f} s: {counts}")

    # A first export, in this process: its queries, and the values the floor will write.
    reference = workdir / "reference.xlsx"
    plan = load_plan(plan_id)
    with CaptureQueriesContext(connection) as queries:
        export_to(plan, reference)
    sheets = read_values(reference)
    values_path = workdir / "values.pickle"
    with open(values_path, "wb") as target:
        pickle.dump(sheets, target, protocol=pickle.HIGHEST_PROTOCOL)
    values_bytes = traced_size(values_path)
    connection.close()  # the children open their own connections

    log("Timing the export…")
    trace = not args.no_trace
    export = measure("export", args.runs, plan_id, None, workdir / "export.xlsx", trace=trace)
    log("Timing the floor…")
    floor = measure("floor", args.runs, plan_id, values_path, workdir / "floor.xlsx", trace=trace)
    if read_values(workdir / "floor.xlsx") != sheets:
        raise SystemExit("The floor's workbook does not hold the export's values.")

    results = {
        "actions": args.actions,
        "rows": {title: len(rows) for title, rows in sheets},
        "objects": counts,
        "database": database_label(),
        "python": sys.version.split()[0],
        "django": __import__("django").get_version(),
        "openpyxl": openpyxl.__version__,
        # openpyxl writes with lxml when it can import it, else with its pure-Python writer.
        "xml_writer": "lxml" if openpyxl.LXML else "pure-Python",
        "cpus": os.cpu_count(),
        "today": TODAY.isoformat(),
        "since": SINCE.isoformat(),
        "runs": args.runs,
        "build_seconds": build_seconds,
        "queries": len(queries.captured_queries),
        # What the floor holds before its clock starts, outside its tracemalloc peak.
        "values_in_memory_bytes": values_bytes,
        "export": export,
        "floor": floor,
        "ratios": {
            "time": ratio(export["seconds"], floor["seconds"]),
            "cpu_time": ratio(export["cpu_seconds"], floor["cpu_seconds"]),
            "traced_peak": ratio(export["traced_peak_bytes"], floor["traced_peak_bytes"]),
            "rss_growth": ratio(export["rss_growth_bytes"], floor["rss_growth_bytes"]),
            "file": ratio(export["file_bytes"], floor["file_bytes"]),
        },
    }
    if args.profile:
        log("Profiling the export…")
        profiled = in_child(
            "export", "profile", plan_id, None, workdir / "profile.xlsx", args.profile
        )
        results["profile"] = profiled["profile"]
    connection.close()
    return results


if __name__ == "__main__":
    main()
