"""`make test`: the checks, then the two test runs, then one combined summary line.

Steps, in order (every one runs, so one report shows everything that is wrong):
1. ruff: `ruff check .`;
2. format: `ruff format --check .`;
3. import contracts: `lint-imports` (the layers in pyproject.toml's [tool.importlinter]);
4. unit: tests on SQLite with eager Celery;
5. integration: integration + browser tests against real PostgreSQL and Redis, with a real
   `celery worker` subprocess, headless Chromium and Azurite (Azure Blob Storage, npm-installed into var/node).
Services that are down are started with the machine's commands. Under CI (CI=true) anything that cannot
run is a failure; elsewhere it is skipped and reported in one loud line at the end. The last line gives
the test counts as they are and names the steps that failed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("IMPRIMATUR_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/imprimatur")
REDIS_URL = os.environ.get("IMPRIMATUR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = "/usr/bin/chromium"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_quiet(command: str) -> None:
    subprocess.run(command, shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S602


def ensure_postgres() -> str | None:
    if not port_open(5432):
        print("PostgreSQL is down; starting it…", flush=True)
        run_quiet("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
        for _ in range(30):
            if port_open(5432):
                break
            time.sleep(1)
    return None if port_open(5432) else "PostgreSQL at 127.0.0.1:5432 is unreachable"


def ensure_redis() -> str | None:
    if not port_open(6379):
        print("Redis is down; starting it…", flush=True)
        run_quiet('redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no')
        for _ in range(15):
            if port_open(6379):
                break
            time.sleep(1)
    return None if port_open(6379) else "Redis at 127.0.0.1:6379 is unreachable"


def ensure_chromium() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("apt-get"):
        print("Chromium is missing; installing Debian's package…", flush=True)
        run_quiet("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium")
    return None if Path(CHROMIUM).exists() else f"Chromium is not installed at {CHROMIUM}"


AZURITE_DIR = ROOT / "var" / "node"  # project-local npm prefix (var/ is gitignored); never a global install
AZURITE_BIN = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
AZURITE_PORT = int(os.environ.get("IMPRIMATUR_TEST_AZURITE_PORT", "10000"))


def ensure_azurite() -> str | None:
    """Azurite's blob service on 127.0.0.1 (the Azure destination tests), installed with npm into var/node
    on first use and started in the background with its data under var/azurite."""
    if port_open(AZURITE_PORT):
        return None
    if not AZURITE_BIN.exists():
        if not shutil.which("npm"):
            return "npm is not installed, so Azurite cannot be installed"
        print("Installing Azurite (npm install azurite@3 into var/node)…", flush=True)
        AZURITE_DIR.mkdir(parents=True, exist_ok=True)
        run_quiet(f"npm install --no-audit --no-fund --prefix {AZURITE_DIR} azurite@3")
        if not AZURITE_BIN.exists():
            return "npm install azurite@3 failed"
    print("Azurite is down; starting it…", flush=True)
    data = ROOT / "var" / "azurite"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
        [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(AZURITE_PORT),
            "--location",
            str(data),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(30):
        if port_open(AZURITE_PORT):
            break
        time.sleep(1)
    return None if port_open(AZURITE_PORT) else f"Azurite at 127.0.0.1:{AZURITE_PORT} is unreachable"


def pytest(args: list[str], env: dict[str, str], junit: Path) -> int:
    command = [str(BIN / "pytest"), *args, f"--junitxml={junit}", "-q"]
    print("\n$ " + " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT, env=env)


def counts(junit: Path) -> dict[str, int]:
    result = {"passed": 0, "failed": 0, "skipped": 0}
    if not junit.exists():
        return result
    for suite in ET.parse(junit).getroot().iter("testsuite"):  # noqa: S314 - our own file
        tests, failures = int(suite.get("tests", 0)), int(suite.get("failures", 0))
        errors, skipped = int(suite.get("errors", 0)), int(suite.get("skipped", 0))
        result["failed"] += failures + errors
        result["skipped"] += skipped
        result["passed"] += tests - failures - errors - skipped
    return result


def check(name: str, command: list[str]) -> tuple[str, int]:
    print("\n$ " + " ".join(command), flush=True)
    return name, subprocess.call(command, cwd=ROOT)


def main() -> int:
    os.chdir(ROOT)
    steps = [
        check("ruff", [str(BIN / "ruff"), "check", "."]),
        check("format", [str(BIN / "ruff"), "format", "--check", "."]),
        check("import contracts", [str(BIN / "lint-imports")]),
    ]
    tmp = Path(tempfile.mkdtemp(prefix="imprimatur-suite-"))
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    base_env["DJANGO_SETTINGS_MODULE"] = "studio.settings.test"
    base_env["IMPRIMATUR_VAR_DIR"] = str(tmp / "var")

    unit_junit = tmp / "unit.xml"
    steps.append(("unit", pytest(["-m", "not integration and not browser"], base_env, unit_junit)))

    problems = [p for p in (ensure_postgres(), ensure_redis(), ensure_chromium(), ensure_azurite()) if p]
    real_junit = tmp / "real.xml"
    if problems and CI:
        print("\nFAIL: under CI every integration and browser test must run: " + "; ".join(problems), flush=True)
        steps.append(("integration", 1))
    elif not problems:
        env = {
            **base_env,
            "DATABASE_URL": PG_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "MEDIA_ROOT": str(tmp / "media"),
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
            "IMPRIMATUR_REAL_SERVICES": "1",
            "IMPRIMATUR_TEST_AZURITE_URL": f"http://127.0.0.1:{AZURITE_PORT}/devstoreaccount1",
        }
        steps.append(
            ("integration", pytest(["-m", "integration or browser", "--liveserver", "127.0.0.1"], env, real_junit))
        )
    # else: not under CI and a service is missing; the loud NOT RUN line below says so.

    unit, real = counts(unit_junit), counts(real_junit)
    total = {k: unit[k] + real[k] for k in unit}
    print("\n" + "=" * 78)
    print(f"unit (SQLite): {unit['passed']} passed, {unit['failed']} failed, {unit['skipped']} skipped")
    print(
        f"integration + browser (PostgreSQL, Redis, Celery worker, Chromium): {real['passed']} passed, "
        f"{real['failed']} failed, {real['skipped']} skipped"
    )
    if problems and not CI:
        print("!" * 78)
        print("!!! NOT RUN: integration and browser tests were skipped: " + "; ".join(problems) + " !!!")
        print("!" * 78)
    failed = [name for name, status in steps if status]
    verdict = "failed: " + ", ".join(failed) + " (see above)" if failed else f"all {len(steps)} steps passed"
    if problems and not CI:
        verdict += "; integration NOT RUN"
    print(f"{total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped; {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
