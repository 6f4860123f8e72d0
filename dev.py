#!/usr/bin/env python3
"""Set up and run casal_tracker with nothing installed but Python 3.11+.

    python3 dev.py run    # SQLite, both seeded plans, demo logins printed, http://127.0.0.1:8000/
    python3 dev.py test   # the whole test suite on every core (DATABASE_URL chooses the database)

Both create .venv/ and install pyproject.toml's dependencies the first time, and again
whenever pyproject.toml changes.
"""

import contextlib
import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".pyproject.sha256"


def ensure_environment():
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    digest = hashlib.sha256(pyproject).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        print("Création de l'environnement Python… / Creating the Python environment…")
        venv.create(VENV, with_pip=True)
    project = tomllib.loads(pyproject.decode())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
    print("Installation des dépendances… / Installing dependencies…")
    subprocess.run(
        [PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    STAMP.write_text(digest)


def manage(*args, env):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def run(args):
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1")}
    address = args[0] if args else "127.0.0.1:8000"
    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    manage("setup_demo", "--url", f"http://{address}/", env=env)
    manage("runserver", address, env=env)


def test(args):
    # One worker per core (pytest-xdist): each has its own test database (pytest-django adds
    # the worker's name to it), live server, browser and temporary directory. `-n 0` after
    # the command runs it in one process.
    return subprocess.run([PYTHON, "-m", "pytest", "-n", "auto", *args], cwd=ROOT).returncode


def main():
    command, *args = sys.argv[1:] or ["help"]
    if command not in {"run", "test"}:
        print(__doc__)
        return 2
    ensure_environment()
    if command == "run":
        # Ctrl-C is how one stops the server: no traceback for it.
        with contextlib.suppress(KeyboardInterrupt):
            run(args)
        return 0
    return test(args)


if __name__ == "__main__":
    sys.exit(main())
