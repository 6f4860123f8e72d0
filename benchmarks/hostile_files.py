"""Benchmark of what hostile files cost the server now that imports/uploads.py refuses them, and
of what a legitimate large plan table costs to import.

    DEBUG=1 .venv/bin/python benchmarks/hostile_files.py [--actions 5000] [--runs 3]
        [--database-url postgres://postgres@127.0.0.1:5432/casal_bench] [--json out.json]

It builds, in a fresh database (a temporary SQLite file unless --database-url is given), a plan
of --actions actions and its funders' workbook (reports/workbook.py): the legitimate file. It
writes the hostile files next to it:

- a zip bomb: a 2 MB .xlsx whose sheet inflates to 2 GB, and the same zip with its directory
  declaring 2 KB for that sheet (a bomb that hides its size);
- a 50 MB CSV file, uploaded through the admin's pages as a browser would post it;
- a CSV file of 1,000,000 rows that stays under the 5 MB limit;
- a sheet of 16,000 columns, and a small sheet that declares the dimension A1:XFD1048576;
- the worst files the limits let through: a sheet of rich-text cells, and a workbook of shared
  strings, each as large as IMPORT_MAX_CELLS and the XML element bound allow; and one cell of
  text as large as IMPORT_MAX_UNCOMPRESSED_BYTES and IMPORT_MAX_COMPRESSION_RATIO allow.

Each job runs in a fresh child process (multiprocessing, "spawn"), its input read beforehand:
the best wall time of --runs runs, and how far the process's peak resident set size rose above
its size when the job started (VmHWM, reset through /proc/self/clear_refs, as in
export_workbook.py), the largest of the runs; the bytes the job wrote (wchar, /proc/self/io:
what it handed to write(), a temporary file included); a run under tracemalloc gives the peak
of Python allocations. The floor, in the same run: reading the legitimate file's bytes, and
openpyxl's own read-only iteration of its plan sheet, values only.

The import of the legitimate plan (read, preview, write into an empty plan, rolled back at its
end) takes a minute; --runs applies to it too.
"""

import argparse
import datetime
import gc
import io
import json
import multiprocessing
import os
import random
import re
import sys
import time
import tracemalloc
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import database_label, log, scratch_database, setup_django
from export_workbook import SINCE, TODAY, build_plan, proc_status, reset_peak_rss

MB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER = ["Code", "Action", "Moyens d'action et conditions de réalisation"]


# The files ---------------------------------------------------------------------------------


def small_workbook(rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Plan"
    for row in rows:
        sheet.append(row)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def with_parts(data, change):
    """The workbook's zip written anew after `change` to its {name: bytes} parts."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    parts = {name: archive.read(name) for name in archive.namelist()}
    change(parts)
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return stream.getvalue()


def zip_bomb(path, inflated):
    """A workbook whose sheet is its XML with `inflated` bytes of blank space inside, deflated
    at the best ratio deflate has (about 1,000 to 1)."""
    base = zipfile.ZipFile(io.BytesIO(small_workbook([HEADER, ["1", "Nourrir"]])))
    sheet = base.read(SHEET)
    head, tail = sheet.split(b"<sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name in base.namelist():
            if name != SHEET:
                out.writestr(name, base.read(name))
        with out.open(SHEET, "w", force_zip64=True) as part:
            part.write(head + b"<sheetData>")
            blank = b" " * MB
            for _ in range(inflated // MB):
                part.write(blank)
            part.write(tail)


def declaring(data, name, size):
    """The zip with `name` declared in its central directory to inflate to `size` bytes."""
    data = bytearray(data)
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + len(name)] != name.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    extra_length = int.from_bytes(data[entry + 30 : entry + 32], "little")
    if data[entry + 24 : entry + 28] == b"\xff\xff\xff\xff":
        # Zip64: the true size is in the extra field, after its 4-byte header.
        extra = entry + 46 + len(name) + 4
        assert extra_length >= 12
        data[extra : extra + 8] = size.to_bytes(8, "little")
    else:
        data[entry + 24 : entry + 28] = size.to_bytes(4, "little")
    return bytes(data)


def csv_of_size(size):
    """A plan's table as CSV, its rows repeated up to `size` bytes."""
    row = "1.1.{n},Soutenir les cuisines collectives du quartier,Des ateliers chaque mois\n"
    lines = [",".join(HEADER) + "\n"]
    total, number = len(lines[0]), 0
    while total < size:
        number += 1
        line = row.format(n=number)
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


def wide_sheet(columns):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Plan")
    sheet.append([*HEADER, *(f"colonne {n}" for n in range(columns - len(HEADER)))])
    sheet.append(["1", "Nourrir le quartier"])
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def forged_dimension():
    data = small_workbook([HEADER, ["1", "Nourrir le quartier"], ["1.1", "Cuisiner"]])
    return with_parts(
        data,
        lambda parts: parts.update(
            {
                SHEET: re.sub(
                    rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', parts[SHEET]
                )
            }
        ),
    )


def rich_cells(cells, elements):
    """A sheet with a header row, then rows of 15 rich-text cells (6 XML elements each), as
    many as `cells` and `elements` allow: the worst the limits let the table import read."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(c) for c in range(1, 16)]
    header = "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for letter, name in zip(letters, [*HEADER, *("x" * 12)], strict=True)
    )
    rows = [f'<row r="1">{header}</row>']
    count = 15
    used = 2 + 1 + 15 * 3  # <worksheet>, <sheetData>, the header row
    number = 1
    while count + 15 <= cells and used + 1 + 15 * 6 <= elements:
        number += 1
        rows.append(
            f'<row r="{number}">'
            + "".join(
                f'<c r="{letter}{number}" t="inlineStr"><is><r><rPr><b/></rPr>'
                f"<t>{number}{letter}</t></r></is></c>"
                for letter in letters
            )
            + "</row>"
        )
        count += 15
        used += 1 + 15 * 6
    xml = f"<worksheet {NS}><sheetData>{''.join(rows)}</sheetData></worksheet>"
    data = small_workbook([["x"]])
    return with_parts(data, lambda parts: parts.update({SHEET: xml.encode()}))


def giant_text(size):
    """A plan's table whose one action's title is `size` bytes of text that deflates about 60
    times: within the ratio and inflated-size limits, the largest text a cell can hold."""
    rng = random.Random(18)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-"
    text = "".join(rng.choice(alphabet) * 200 for _ in range(size // 200))

    def cell(reference, value):
        return f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>'

    xml = (
        f'<worksheet {NS}><sheetData><row r="1">{cell("A1", "Code")}{cell("B1", "Action")}'
        f'</row><row r="2">{cell("A2", "1.1.1")}{cell("B2", text)}</row></sheetData>'
        "</worksheet>"
    )
    return with_parts(small_workbook([["x"]]), lambda parts: parts.update({SHEET: xml.encode()}))


def shared_strings(count):
    """A small sheet over `count` distinct rich shared strings (5 XML elements each)."""
    body = "".join(f"<si><r><rPr><b/></rPr><t>{n:x}</t></r></si>" for n in range(count))

    def change(parts):
        parts["xl/sharedStrings.xml"] = (
            f'<sst {NS} count="{count}" uniqueCount="{count}">{body}</sst>'.encode()
        )
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )

    return with_parts(small_workbook([HEADER, ["1", "Nourrir le quartier"]]), change)


# A fixed CSRF secret: the form's field and the cookie carry the same one, as Django accepts.
CSRF = "casalbenchcsrfsecretcasalbench32"
BOUNDARY = "----casal-bench-boundary"


def multipart(path, name, data, fields):
    """Write to `path` a multipart/form-data body as a browser posts it."""
    with open(path, "wb") as body:
        for key, value in {"csrfmiddlewaretoken": CSRF, **fields}.items():
            body.write(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        body.write(
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="plan.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode()
        )
        body.write(data)
        body.write(f"\r\n--{BOUNDARY}--\r\n".encode())


# The jobs ------------------------------------------------------------------------------------

# (name, the case, the path it goes through, what the job does)
JOBS = [
    ("floor-bytes", "legitimate plan", "floor: its bytes read", "bytes"),
    ("floor-openpyxl", "legitimate plan", "floor: openpyxl read-only rows", "openpyxl"),
    ("legit-read", "legitimate plan", "table import: read", "read"),
    ("legit-preview", "legitimate plan", "table import: read and preview", "preview"),
    ("legit-write", "legitimate plan", "table import: read, preview, write", "write"),
    ("bomb-table", "zip bomb, 2 MB → 2 GB", "table import", "read"),
    ("bomb-list", "zip bomb, 2 MB → 2 GB", "list import (XLSX)", "dataset"),
    ("hidden-table", "zip bomb declaring 2 KB", "table import", "read"),
    ("hidden-list", "zip bomb declaring 2 KB", "list import (XLSX)", "dataset"),
    ("big-table", "50 MB CSV upload", "table import page", "post-table"),
    ("big-list", "50 MB CSV upload", "actions import page", "post-list"),
    ("big-default", "50 MB CSV upload", "actions import page, Django's handlers", "post-default"),
    ("million-table", "1,000,000-row CSV", "table import", "read"),
    ("million-list", "1,000,000-row CSV", "list import (CSV)", "csv"),
    ("wide-table", "16,000-column sheet", "table import", "read"),
    ("wide-list", "16,000-column sheet", "list import (XLSX)", "dataset"),
    ("forged-table", "forged dimension A1:XFD1048576", "table import", "read"),
    ("forged-list", "forged dimension A1:XFD1048576", "list import (XLSX)", "dataset"),
    ("cells-table", "worst within the limits: rich cells", "table import", "read"),
    ("cells-list", "worst within the limits: rich cells", "list import (XLSX)", "dataset"),
    ("strings-table", "worst within the limits: shared strings", "table import", "read"),
    ("strings-list", "worst within the limits: shared strings", "list import (XLSX)", "dataset"),
    ("text-table", "worst within the limits: one cell's text", "table import", "read"),
    ("text-list", "worst within the limits: one cell's text", "list import (XLSX)", "dataset"),
]
FILES = {
    "floor": "legit.xlsx",
    "legit": "legit.xlsx",
    "bomb": "bomb.xlsx",
    "hidden": "hidden.xlsx",
    "big": "big.csv",
    "million": "million.csv",
    "wide": "wide.xlsx",
    "forged": "forged.xlsx",
    "cells": "cells.xlsx",
    "strings": "strings.xlsx",
    "text": "text.xlsx",
}


def outcome(value):
    """What the job ended with, in a few words."""
    from imports.table_import import TableFile

    if isinstance(value, TableFile):
        return f"read: {len(value.rows):,} rows × {len(value.headers)} columns"
    if hasattr(value, "height") and hasattr(value, "width"):
        return f"read: {value.height:,} rows × {value.width} columns"
    if isinstance(value, dict) and "action" in value:
        return f"written: {value['action']['new']:,} actions"
    if isinstance(value, tuple) and value and value[0] == "response":
        return value[1]
    if isinstance(value, int):
        return f"{value:,} values"
    return str(value)[:60]


def refused(error):
    return f"refused: {str(error)[:60]}…"


def prepare(job, workdir, plan_ids):
    """Everything a job needs before its clock starts; returns the job as a callable."""
    name = next(j for j in JOBS if j[0] == job)
    kind = name[3]
    path = workdir / FILES[job.split("-")[0]]
    setup_django()
    from django.conf import settings
    from django.db import transaction
    from openpyxl import load_workbook

    from imports import table_import, uploads
    from imports.resources import ExcelFriendlyCSV, SafeXLSX
    from plans.models import Plan

    data = path.read_bytes()
    target = Plan.objects.get(pk=plan_ids["target"])
    periods = list(target.periods.all())

    def catching(run):
        def job_():
            try:
                return run()
            except (table_import.TableError, uploads.UploadRefused) as error:
                return refused(error)

        return job_

    if kind == "bytes":
        return lambda: len(path.read_bytes())
    if kind == "openpyxl":

        def openpyxl_rows():
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            count = sum(len(row) for row in book["Plan"].iter_rows(values_only=True))
            book.close()
            return count

        return openpyxl_rows
    if kind == "read":
        return catching(lambda: table_import.read(data, path.name))
    if kind == "dataset":
        return catching(lambda: SafeXLSX().create_dataset(data))
    if kind == "csv":
        return catching(lambda: ExcelFriendlyCSV().create_dataset(data))
    if kind in ("preview", "write"):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username="bench-coordo")

        def imported():
            table_file = table_import.read(data, path.name)
            mapping = table_import.guess_mapping(table_file.headers, periods)
            preview = table_import.build_preview(target, table_file, mapping)
            if kind == "preview":
                return f"previewed: {len(preview.entries):,} rows"
            with transaction.atomic():
                counts = table_import.apply(preview, user=user)
                transaction.set_rollback(True)  # the next run imports into an empty plan again
            return counts

        return imported
    # The uploads, through Django's whole request handling (its WSGI handler, as gunicorn
    # calls it), the body read from a file as a server reads it from its socket.
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import Client, override_settings
    from django.urls import reverse

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-coordo"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    if kind == "post-table":
        url = reverse("admin:plans_plan_import_table", args=[plan_ids["target"]])
        body = workdir / "big-table.body"
    else:
        url = reverse("admin:actions_action_import")
        body = workdir / "big-list.body"
    handler = WSGIHandler()
    handlers = (
        settings.FILE_UPLOAD_HANDLERS
        if kind != "post-default"
        else [
            "django.core.files.uploadhandler.MemoryFileUploadHandler",
            "django.core.files.uploadhandler.TemporaryFileUploadHandler",
        ]
    )

    def request(method, stream, length):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": url,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={session}; csrftoken={CSRF}",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "CONTENT_LENGTH": str(length),
            "wsgi.input": stream,
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        statuses = []
        content = b"".join(handler(environ, lambda status, headers, *_: statuses.append(status)))
        return statuses[0], content.decode()

    request("GET", io.BytesIO(), 0)  # the page's code and templates load before the clock

    def post():
        with override_settings(FILE_UPLOAD_HANDLERS=handlers), open(body, "rb") as stream:
            status, text = request("POST", stream, body.stat().st_size)
        message = re.search(r"Le fichier pèse [^<]*", text)
        return ("response", f"{status[:3]}: {message[0] if message else 'no refusal shown'}")

    return post


def write_bytes():
    with open("/proc/self/io") as status:
        for line in status:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def child(job, mode, workdir, plan_ids):
    """One run of `job` in this (fresh) process. mode: "time" or "trace"."""
    run = prepare(job, workdir, plan_ids)
    gc.collect()
    reset_peak_rss()
    rss_before = proc_status("VmRSS")["VmRSS"]
    written_before = write_bytes()
    if mode == "trace":
        tracemalloc.start()
    start = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - start
    result = {"job": job, "seconds": seconds, "outcome": outcome(value)}
    if mode == "trace":
        result["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    result["rss_growth_bytes"] = proc_status("VmHWM")["VmHWM"] - rss_before
    result["written_bytes"] = write_bytes() - written_before
    return result


def in_child(*args):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(child, *args).result()


def measure(job, runs, workdir, plan_ids):
    timed = [in_child(job, "time", workdir, plan_ids) for _ in range(runs)]
    traced = in_child(job, "trace", workdir, plan_ids)
    best = min(timed, key=lambda run: run["seconds"])
    return {
        "outcome": best["outcome"],
        "seconds": best["seconds"],
        "all_seconds": [run["seconds"] for run in timed],
        "rss_growth_bytes": max(run["rss_growth_bytes"] for run in timed),
        "written_bytes": max(run["written_bytes"] for run in timed),
        "traced_peak_bytes": traced["traced_peak_bytes"],
    }


# The database and the files ------------------------------------------------------------------


def prepare_database(actions):
    """The plan of `actions` actions, an empty plan with the same periods to import it into,
    and a coordinator of both; returns their ids."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from actions.models import Action
    from plans.groups import COORDINATION
    from plans.models import Membership, Period, Plan

    plan_id, counts = build_plan(actions)
    # build_plan leaves postponed and abandoned actions without the reason an import asks for
    # (bulk_create writes no trail): the legitimate file has none.
    Action.objects.filter(
        plan_id=plan_id, status__in=[Action.Status.POSTPONED, Action.Status.ABANDONED]
    ).update(status=Action.Status.IN_PROGRESS)
    source = Plan.objects.get(pk=plan_id)
    target = Plan.objects.create(
        coalition=source.coalition,
        title="Plan vide où importer le tableau",
        slug="banc-essai-vide",
        kind=source.kind,
        start=source.start,
        end=source.end,
    )
    for period in source.periods.all():
        Period.objects.create(plan=target, label=period.label, start=period.start, end=period.end)
    user = get_user_model().objects.create_user("bench-coordo", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=COORDINATION))
    Membership.objects.create(coalition=source.coalition, user=user)
    return {"source": plan_id, "target": target.pk}, counts


def write_files(workdir, plan_id):
    from django.conf import settings

    from plans.models import Plan
    from reports import workbook

    with open(workdir / "legit.xlsx", "wb") as stream:
        workbook.export(
            Plan.objects.get(pk=plan_id), stream, since=SINCE, language="fr", today=TODAY
        )
    log("Writing the zip bomb (2 GB of blank space, deflated)…")
    zip_bomb(workdir / "bomb.xlsx", 2048 * MB)
    bomb = (workdir / "bomb.xlsx").read_bytes()
    (workdir / "hidden.xlsx").write_bytes(declaring(bomb, SHEET, 2048))
    big = csv_of_size(50 * MB)
    (workdir / "big.csv").write_bytes(big)
    multipart(workdir / "big-table.body", "file", big, {"step": "upload", "sheet": ""})
    multipart(workdir / "big-list.body", "import_file", big, {"resource": "0", "format": "0"})
    million = (",".join(HEADER) + "\n" + "1,a,\n" * 1_000_000).encode()
    assert len(million) <= settings.IMPORT_MAX_BYTES
    (workdir / "million.csv").write_bytes(million)
    (workdir / "wide.xlsx").write_bytes(wide_sheet(16_000))
    (workdir / "forged.xlsx").write_bytes(forged_dimension())
    from imports import uploads

    elements = uploads.ELEMENTS_PER_CELL * settings.IMPORT_MAX_CELLS
    (workdir / "cells.xlsx").write_bytes(rich_cells(settings.IMPORT_MAX_CELLS, elements))
    strings = min(settings.IMPORT_MAX_CELLS, elements // 5)
    (workdir / "strings.xlsx").write_bytes(shared_strings(strings))
    # The sheet's other XML and the workbook's other parts take under a megabyte.
    text_size = settings.IMPORT_MAX_UNCOMPRESSED_BYTES - MB
    (workdir / "text.xlsx").write_bytes(giant_text(text_size))
    sizes = {}
    for name in sorted(set(FILES.values())):
        data = (workdir / name).read_bytes()
        inflated = None
        if name.endswith(".xlsx"):
            inflated = sum(part.file_size for part in zipfile.ZipFile(io.BytesIO(data)).infolist())
        sizes[name] = {"bytes": len(data), "inflated_bytes": inflated}
    return sizes


# Report ----------------------------------------------------------------------------------------


def mib(size):
    return size / MB


def table(results):
    lines = [
        f"Hostile files: {results['database']}, Python {results['python']}, Django "
        f"{results['django']}, openpyxl {results['openpyxl']}, best of {results['runs']}; "
        f"legitimate plan: {results['actions']:,} actions",
        "",
        "| case | path | outcome | time (s) | peak RSS growth | tracemalloc peak | written |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for job, case, path, _kind in JOBS:
        figures = results["jobs"].get(job)
        if figures is None:
            continue
        lines.append(
            f"| {case} | {path} | {figures['outcome']} | {figures['seconds']:.2f} | "
            f"{mib(figures['rss_growth_bytes']):.1f} MiB | "
            f"{mib(figures['traced_peak_bytes']):.1f} MiB | "
            f"{mib(figures['written_bytes']):.1f} MiB |"
        )
    lines += ["", "Files:"]
    for name, size in results["files"].items():
        inflated = size["inflated_bytes"]
        lines.append(
            f"- {name}: {mib(size['bytes']):.2f} MiB"
            + (f", {mib(inflated):,.1f} MiB declared once inflated" if inflated else "")
        )
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=5000, help="default: 5000")
    parser.add_argument(
        "--database-url",
        help="default: a temporary SQLite file. A PostgreSQL database named here is dropped "
        "and created anew, then dropped at the end unless --keep is given.",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each job; default 3")
    parser.add_argument("--only", nargs="*", help="run these jobs only (their names: see JOBS)")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the figures as JSON ('-': stdout)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory and the database"
    )
    return parser.parse_args()


def benchmark(args, workdir):
    setup_django()
    import openpyxl
    from django.core.management import call_command
    from django.db import connection

    log("Migrating…")
    call_command("migrate", verbosity=0, interactive=False)
    log(f"Building a plan of {args.actions:,} actions…")
    plan_ids, counts = prepare_database(args.actions)
    log("Writing the files…")
    sizes = write_files(workdir, plan_ids["source"])
    connection.close()  # the children open their own connections
    jobs = {}
    for job, case, path, _kind in JOBS:
        if args.only and job not in args.only:
            continue
        log(f"{case}, {path}…")
        jobs[job] = measure(job, args.runs, workdir, plan_ids)
        log(f"  {jobs[job]['outcome']}: {jobs[job]['seconds']:.2f} s")
    return {
        "date": datetime.date.today().isoformat(),
        "actions": args.actions,
        "objects": counts,
        "database": database_label(),
        "python": sys.version.split()[0],
        "django": __import__("django").get_version(),
        "openpyxl": openpyxl.__version__,
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "cpus": os.cpu_count(),
        "runs": args.runs,
        "files": sizes,
        "jobs": jobs,
    }


def main():
    args = parse_args()
    with scratch_database(args.database_url, keep=args.keep, prefix="casal-hostile-") as (
        _url,
        workdir,
    ):
        results = benchmark(args, workdir)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(table(results), file=out)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
