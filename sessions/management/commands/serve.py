import ipaddress
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sessions.live import DEFAULT_SERVER_URL, announce_server, withdraw_server
from streamtap_site.schema import migrate_for_command


class Command(BaseCommand):
    help = (
        "Migrate, make sure there is someone who can log in, and serve the dashboard with daphne "
        "(127.0.0.1:8000 by default). With --demo, also tap the built-in demo agent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default=os.environ.get("STREAMTAP_HOST", "127.0.0.1"),
            help="address to listen on (default: STREAMTAP_HOST or 127.0.0.1, this machine only)",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("STREAMTAP_PORT", 8000)),
            help="port (default: STREAMTAP_PORT or 8000)",
        )
        parser.add_argument("--demo", action="store_true", help="tap the demo agent once served")
        parser.add_argument(
            "--no-wait", action="store_true", help="with --demo: stop the server when the demo ends"
        )

    def handle(self, *args, **options):
        # A busy port is someone else's server: say so and touch nothing (no migration, no
        # server.json), rather than find that server answering and announce it as ours.
        ensure_port_free(options["host"], options["port"])
        migrate_for_command()
        self.ensure_admin()
        url = f"http://{options['host']}:{options['port']}/"
        local_url = connect_url(options["host"], options["port"])
        announced = None
        access_log = Path(settings.DATA_DIR) / "access.log"
        os.close(os.open(access_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        stop = StopRequest()
        stop.install()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                options["host"],
                "-p",
                str(options["port"]),
                # Requests go to a file, not over the demo's output in this terminal.
                "--access-log",
                str(access_log),
                "streamtap_site.asgi:application",
            ],
            # Even a SIGKILL of this process stops daphne: no orphan left serving.
            preexec_fn=_die_with_parent,
        )
        demo = None
        try:
            if not self.wait_for_port(options["host"], options["port"], server):
                raise CommandError(f"daphne did not start on {options['host']}:{options['port']}")
            self.stdout.write(self.style.SUCCESS(f"streamtap is serving {url}"))
            announced = announce_server(local_url)
            if local_url != DEFAULT_SERVER_URL:
                self.stdout.write(
                    f"Taps using this data directory ({settings.DATA_DIR}) publish here; "
                    f"elsewhere set STREAMTAP_SERVER_URL={local_url}"
                )
            if options["demo"]:
                demo = self.start_demo()
            else:
                self.stdout.write("Press Ctrl-C to stop.")
            while not stop.requested and server.poll() is None:
                if demo is not None and demo.poll() is not None:
                    demo = None
                    if options["no_wait"]:
                        break
                    self.stdout.write("Press Ctrl-C to stop.")
                stop.wait(POLL_SECONDS)
        finally:
            if announced is not None:
                withdraw_server(announced)
            # The demo's tap first: it still publishes to daphne while it finishes its session.
            for child in (demo, server):
                if child is not None:
                    stop_child(child)

    def ensure_admin(self) -> None:
        """First run: an admin with a random password, printed once (and only then)."""
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write(
                "Log in with your admin account (forgot the password? "
                "`python manage.py changepassword admin`)."
            )
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", "", password)
        self.stdout.write(
            self.style.WARNING(
                f"Created user 'admin' with password: {password}\n"
                "This password is shown only now; change it with `python manage.py changepassword admin`."
            )
        )

    @staticmethod
    def wait_for_port(host: str, port: int, server: subprocess.Popen, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                return False
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def start_demo(self) -> subprocess.Popen:
        self.stdout.write(
            "Tapping the demo agent: answer its question here or on the dashboard "
            "(it waits 5 minutes).\n"
        )
        self.stdout.flush()
        return subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "tap",
                "--agent",
                "demo-agent",
                "--summary",
                # A terminal even when this one is not: the dashboard's answer is typed into it.
                "--pty",
                "--",
                sys.executable,
                "-m",
                "sessions.demo_agent",
            ],
            cwd=settings.BASE_DIR,
        )


# Ctrl-C, SIGTERM (kill, systemd) and SIGHUP (the terminal went away) all stop serve the same way.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
POLL_SECONDS = 0.2


class StopRequest:
    """A stop signal, noted for serve's main loop to act on.

    The handler only records the signal, and the kernel-level handler wakes the loop through a
    pipe whichever thread took the signal. Raising KeyboardInterrupt from the handler, as serve
    did, can lose the stop: Python runs the handler wherever the main thread next runs bytecode,
    and an exception raised there inside a finalizer is printed and dropped; a signal taken by
    another thread does not interrupt the main thread's waitpid() at all. Either way serve sat
    waiting for daphne with the stop ignored (CI saw a SIGTERM go unanswered for 30 s).
    """

    def __init__(self):
        self.signum: int | None = None
        self._wakeup_read, wakeup_write = os.pipe()
        os.set_blocking(self._wakeup_read, False)
        os.set_blocking(wakeup_write, False)
        signal.set_wakeup_fd(wakeup_write)

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._note)

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout``, less if a signal comes."""
        ready, _, _ = select.select([self._wakeup_read], [], [], timeout)
        if ready:
            try:
                os.read(self._wakeup_read, 64)
            except BlockingIOError:
                pass

    def _note(self, signum, frame) -> None:
        self.signum = signum


def stop_child(child: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not ended within ``grace`` seconds."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM when serve dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def ensure_port_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As daphne binds (Twisted sets SO_REUSEADDR): a port in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror} (another server? "
                "choose another with --port or STREAMTAP_PORT); nothing was started"
            ) from None


def connect_url(host: str, port: int) -> str:
    """Where taps on this machine reach a server listening on host:port."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a host name
        return f"http://{host}:{port}"
    if address.is_unspecified:  # listening everywhere: connect over loopback
        address = ipaddress.ip_address("127.0.0.1")
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"
