"""Drive the real certbot (from the test venv) against a RunningServer.

Every run uses its own --config-dir/--work-dir/--logs-dir, --non-interactive, and a bounded
subprocess timeout. Helpers also read back what certbot wrote (live/ and archive/ files).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from .server import RunningServer

TIMEOUT_SECONDS = 120
HOOKS = Path(__file__).resolve().parent / "hooks"


def venv_bin(name: str) -> Path:
    """A script beside the running interpreter (the venv's bin dir; symlinks not resolved)."""
    return Path(sys.executable).parent / name


@dataclass
class Certbot:
    """One certbot state directory talking to one server."""

    server: RunningServer
    root: Path
    email: str | None = None
    env: dict[str, str] | None = None  # added to every run's environment (REQUESTS_CA_BUNDLE...)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def run(
        self,
        *args: str,
        check: bool = True,
        with_account_flags: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        """Run `certbot ARGS` with the common flags; raise with full output if `check` fails."""
        command = [
            str(venv_bin("certbot")),
            *args,
            "--config-dir",
            str(self.config_dir),
            "--work-dir",
            str(self.root / "work"),
            "--logs-dir",
            str(self.root / "logs"),
            "--non-interactive",
            "--server",
            self.server.directory_url,
        ]
        if with_account_flags:
            command.append("--agree-tos")
            if self.email:
                command += ["-m", self.email]
            else:
                command.append("--register-unsafely-without-email")
        full_env = dict(os.environ)
        full_env.update(self.env or {})
        full_env.update(env or {})
        result = subprocess.run(
            command,
            check=False,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(self.describe(result))
        return result

    def log_text(self) -> str:
        """certbot's debug log of its latest run (it rotates the older ones to .1, .2, ...)."""
        log = self.root / "logs" / "letsencrypt.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def failed_with(self, result: subprocess.CompletedProcess, problem: str) -> bool:
        """True if the run failed and the server's problem document had type ...:error:`problem`.

        certbot prints only the problem's detail; the type is in its debug log.
        """
        urn = f"urn:ietf:params:acme:error:{problem}"
        return result.returncode != 0 and urn in result.stdout + result.stderr + self.log_text()

    def describe(self, result: subprocess.CompletedProcess) -> str:
        """Command, exit code, output, certbot's own log tail, and the server log tail."""
        log_tail = self.log_text()[-6000:] or "<none>"
        return (
            f"certbot exited {result.returncode}: {' '.join(result.args)}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n"
            f"--- letsencrypt.log (tail) ---\n{log_tail}\n"
            f"--- server log (tail) ---\n{self.server.log_tail(4000)}"
        )

    # --- issuance ---------------------------------------------------------------------------
    def certonly_standalone(
        self,
        *domains: str,
        cert_name: str | None = None,
        check: bool = True,
        extra: tuple[str, ...] = (),
    ):
        """http-01 with certbot's own listener on the server's http01 port."""
        args = [
            "certonly",
            "--standalone",
            "--http-01-port",
            str(self.server.http01_port),
            "--http-01-address",
            "127.0.0.1",
            "--cert-name",
            cert_name or domains[0],
        ]
        for domain in domains:
            args += ["-d", domain]
        return self.run(*args, *extra, check=check)

    def certonly_dns_manual(self, *domains: str, cert_name: str, check: bool = True):
        """dns-01 with the manual plugin; the hook writes TXT records into the test DNS server."""
        hook = f"{sys.executable} {HOOKS / 'dns01.py'}"
        args = [
            "certonly",
            "--manual",
            "--preferred-challenges",
            "dns",
            "--manual-auth-hook",
            f"{hook} auth",
            "--manual-cleanup-hook",
            f"{hook} cleanup",
            "--cert-name",
            cert_name,
        ]
        for domain in domains:
            args += ["-d", domain]
        return self.run(
            *args, check=check, env={"ACMEEH_TEST_DNS_CONTROL": self.server.dns.control_url}
        )

    # --- files ------------------------------------------------------------------------------
    def live(self, cert_name: str) -> Path:
        return self.config_dir / "live" / cert_name

    def archive(self, cert_name: str) -> Path:
        return self.config_dir / "archive" / cert_name

    def certificate(self, cert_name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.live(cert_name) / "cert.pem").read_bytes())

    def account_dirs(self) -> Path:
        return self.config_dir / "accounts"

    def backup_accounts(self, destination: Path) -> None:
        """Copy the account store (certbot deletes it on unregister)."""
        shutil.copytree(self.account_dirs(), destination)

    def restore_accounts(self, source: Path) -> None:
        shutil.rmtree(self.account_dirs(), ignore_errors=True)
        shutil.copytree(source, self.account_dirs())


# --- certificate checks shared by the certbot and lego tests ------------------------------------
def openssl_verify(ca_cert: Path, leaf: Path, untrusted: Path | None = None,
                   purpose: str | None = None) -> str:
    """`openssl verify [-purpose P] -CAfile CA [-untrusted CHAIN] LEAF`; raise with its output
    unless OK."""
    command = ["openssl", "verify", *(("-purpose", purpose) if purpose else ()),
               "-CAfile", str(ca_cert)]
    if untrusted is not None:
        command += ["-untrusted", str(untrusted)]
    result = subprocess.run(
        [*command, str(leaf)], check=False, capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0 or not result.stdout.strip().endswith("OK"):
        raise AssertionError(f"{' '.join(command)} {leaf}: {result.stdout}{result.stderr}")
    return result.stdout


def load_pem_chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def dns_names(cert: x509.Certificate) -> set[str]:
    """The dNSName entries of the subjectAltName extension."""
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName))
