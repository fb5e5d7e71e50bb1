"""Run the whole product locally: migrate, seed, then web + Celery worker + beat.

Uses whatever the environment configures; with nothing configured that is the embedded
PostgreSQL and the filesystem broker, so a fresh checkout needs no servers.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from billspree.core.management.commands.demo_seed import DEMO_PASSWORD, DEMO_USERS

#: Processes the demo can live without (e.g. the simulator when its port is taken).
OPTIONAL = {"modbus"}


def simulator_args(port: str) -> list[str]:
    """``manage.py`` arguments of the simulated Modbus gateway that the demo gateways poll:
    the mapped meters (read again as maps change) over 14 default devices."""
    return ["modbus_simulator", "--port", port, "--from-db", "--meters", "14", "--quiet"]


class Command(BaseCommand):
    help = "Migrate, load demo data and run web, worker and beat until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("DEMO_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("demo_seed")
        python = sys.executable
        simulator_port = os.environ.get("GATEWAYS_SIMULATOR_PORT", "5020")
        manage = str(settings.BASE_DIR / "manage.py")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        commands = {
            "web": [python, manage, "runserver", addr, "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "billspree",
                "worker",
                "-l",
                "info",
                "--pool",
                "threads",
                "--concurrency",
                "4",
            ],
            "beat": [python, "-m", "celery", "-A", "billspree", "beat", "-l", "info"],
            # a simulated Modbus gateway that the demo gateways poll, so readings arrive live
            "modbus": [python, manage, *simulator_args(simulator_port)],
        }
        procs = {
            name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env)
            for name, cmd in commands.items()
        }
        broker = "Redis" if settings.REDIS_URL else "filesystem broker (.data/broker)"
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Billspree is running at http://{addr}/\n"
                f"  Log in as {DEMO_USERS[0][0]} / {DEMO_PASSWORD} "
                "(admin of both demo organizations, and platform staff:\n"
                f"  System status at http://{addr}/ops/status/)\n"
                f"  or {DEMO_USERS[1][0]} / {DEMO_PASSWORD} (viewer).\n"
                f"  API docs: http://{addr}/api/v1/docs/   Celery: {broker}\n"
                f"  Simulated Modbus gateway on 127.0.0.1:{simulator_port} (polled every minute)\n"
                "  Press Ctrl-C to stop.\n"
            )
        )
        self._wait(procs)

    def _wait(self, procs):
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in list(procs.items()):
                    if proc.poll() is None:
                        continue
                    if name in OPTIONAL:
                        self.stderr.write(
                            f"{name} exited with {proc.returncode}; going on without it."
                        )
                        del procs[name]
                        continue
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                    stopping = True
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
