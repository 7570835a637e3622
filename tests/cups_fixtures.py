"""A private CUPS scheduler for the tests: its own cupsd on 127.0.0.1, a free port, its own
ServerRoot, spool and logs in a temporary folder, and CUPS-PDF queues writing into that folder.

Never the system's cupsd: ``cupsd -f -c <tmp>/cupsd.conf -s <tmp>/cups-files.conf``. The cups-pdf
backend reads its configuration from ``/etc/cups`` only (its path is compiled in), but a device URI
``cups-pdf:/NAME`` makes it read ``/etc/cups/cups-pdf-NAME.conf``: each server writes its own such
file (``Out`` = its output folder) and removes it when it stops; the system's ``cups-pdf.conf`` is
not touched. The backend runs as root (mode 0700), so these tests need root, as CI has.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from scp_fixtures import free_port

CUPS_PDF_CONF_DIR = Path("/etc/cups")
PPD_CANDIDATES = ("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd",
                  "/usr/share/ppd/cups-pdf/CUPS-PDF_noopt.ppd")
TOOL_TIMEOUT = 30
ENV = {**os.environ, "LC_ALL": "C", "LANG": "C"}


class CupsServer:
    """A cupsd of our own (see the module docstring). ``start()``, ``add_pdf_queue(name)``,
    ``disable(name)`` / ``enable(name)``, ``pdfs()``, ``completed(name)``, ``stop()``."""

    def __init__(self) -> None:
        # not under pytest's tmp_path: its folders are 0700 and CUPS filters run as user lp
        self.base = Path(tempfile.mkdtemp(prefix="printserver-cups-"))
        self.base.chmod(0o755)
        self.port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        self.instance = f"printserver-test-{secrets.token_hex(4)}"
        self.out = self.base / "pdf"
        self.process: subprocess.Popen | None = None
        self.log_path = self.base / "cupsd.out"

    def tool(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a CUPS client tool (``lpadmin``, ``lpstat`` …) against this server."""
        result = subprocess.run([args[0], "-h", self.server, *args[1:]], capture_output=True,
                                text=True, timeout=TOOL_TIMEOUT, env=ENV)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
        return result

    def start(self, timeout: float = 20.0) -> CupsServer:
        root = self.base / "root"
        for folder in ("root", "spool/tmp", "log", "cache", "state", "pdf"):
            (self.base / folder).mkdir(parents=True, exist_ok=True)
            (self.base / folder).chmod(0o755)
        (self.base / "spool" / "tmp").chmod(0o1777)
        (root / "cups-files.conf").write_text(
            f"ServerRoot {root}\nRequestRoot {self.base / 'spool'}\n"
            f"TempDir {self.base / 'spool' / 'tmp'}\nCacheDir {self.base / 'cache'}\n"
            f"StateDir {self.base / 'state'}\nErrorLog {self.base / 'log' / 'error_log'}\n"
            f"AccessLog {self.base / 'log' / 'access_log'}\n"
            f"PageLog {self.base / 'log' / 'page_log'}\n"
            "DataDir /usr/share/cups\nServerBin /usr/lib/cups\nSystemGroup root\n"
            "User lp\nGroup lp\nSandboxing Relaxed\n")
        (root / "cupsd.conf").write_text(
            f"LogLevel info\nListen {self.server}\nBrowsing No\nWebInterface No\n"
            "DefaultAuthType Basic\nPreserveJobHistory Yes\nMaxJobs 0\n"
            "<Location />\n  Order allow,deny\n  Allow 127.0.0.1\n</Location>\n"
            "<Location /admin>\n  Order allow,deny\n  Allow 127.0.0.1\n</Location>\n"
            "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n")
        (CUPS_PDF_CONF_DIR / f"cups-pdf-{self.instance}.conf").write_text(
            f"Out {self.out}\nAnonDirName {self.out}\nLabel 0\n")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            ["cupsd", "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
            stdout=self.log, stderr=self.log, env=ENV)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"cupsd exited: {self.log_path.read_text()}")
            if "scheduler is running" in self.tool("lpstat", "-r", check=False).stdout:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"cupsd did not start: {self.log_path.read_text()}")

    def add_pdf_queue(self, name: str) -> None:
        """A CUPS-PDF queue writing its PDFs into :attr:`out`, enabled and accepting."""
        ppd = next(p for p in PPD_CANDIDATES if Path(p).is_file())
        self.tool("lpadmin", "-p", name, "-E", "-v", f"cups-pdf:/{self.instance}", "-P", ppd)

    def disable(self, name: str, reason: str = "stopped by the test") -> None:
        self.tool("cupsdisable", "-r", reason, name)

    def enable(self, name: str) -> None:
        self.tool("cupsenable", name)

    def completed(self, name: str) -> list[str]:
        """CUPS job ids of the queue's completed jobs (``lpstat -W completed -o``)."""
        out = self.tool("lpstat", "-W", "completed", "-o", name, check=False).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def not_completed(self, name: str) -> list[str]:
        out = self.tool("lpstat", "-o", name, check=False).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def pdfs(self) -> list[Path]:
        """PDFs cups-pdf has written, oldest first."""
        return sorted(self.out.rglob("*.pdf"), key=lambda p: p.stat().st_mtime)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None:
            self.log.close()
        (CUPS_PDF_CONF_DIR / f"cups-pdf-{self.instance}.conf").unlink(missing_ok=True)
        shutil.rmtree(self.base, ignore_errors=True)
