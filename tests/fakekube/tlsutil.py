"""TLS material for the fake API server, made with the ``openssl`` command line tool.

One throw-away CA signs a server certificate for 127.0.0.1/localhost and any number of client certificates
(CN = user name, O = groups, the way kube-apiserver's x509 authenticator reads them). Keys are EC P-256: fast to
generate and accepted by Go (kubectl), OpenSSL (Python) and BoringSSL (swift-nio-ssl).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


class TLSError(RuntimeError):
    pass


def _run(*args: str, cwd: Path) -> None:
    proc = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise TLSError(f"openssl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")


def _subject(cn: str, orgs: tuple[str, ...] = ()) -> str:
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("/", "\\/").replace("=", "\\=")
    return "".join(f"/O={esc(o)}" for o in orgs) + f"/CN={esc(cn)}"


@dataclass
class CertPair:
    cert: Path
    key: Path


class CertificateAuthority:
    """A CA in ``directory`` (created if needed): ``ca.crt`` / ``ca.key``."""

    def __init__(self, directory: str | os.PathLike, name: str = "fakekube-ca"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.crt"
        self.key = self.dir / "ca.key"
        if not (self.cert.exists() and self.key.exists()):
            _run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(self.key), "-out", str(self.cert), "-days", "7", "-subj", _subject(name),
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
                 cwd=self.dir)
        self._serial = 0

    def issue(self, stem: str, cn: str, *, orgs: tuple[str, ...] = (), server: bool = False,
              ips: tuple[str, ...] = ("127.0.0.1",), dns: tuple[str, ...] = ("localhost",)) -> CertPair:
        key = self.dir / f"{stem}.key"
        csr = self.dir / f"{stem}.csr"
        crt = self.dir / f"{stem}.crt"
        ext = self.dir / f"{stem}.ext"
        lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
        if server:
            san = [f"IP:{ip}" for ip in ips] + [f"DNS:{d}" for d in dns]
            lines += ["extendedKeyUsage=serverAuth", "subjectAltName=" + ",".join(san)]
        else:
            lines += ["extendedKeyUsage=clientAuth"]
        ext.write_text("\n".join(lines) + "\n")
        _run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", _subject(cn, orgs), cwd=self.dir)
        self._serial += 1
        _run("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "7", "-sha256",
             "-extfile", str(ext), "-out", str(crt), cwd=self.dir)
        csr.unlink(missing_ok=True)
        ext.unlink(missing_ok=True)
        os.chmod(key, 0o600)
        return CertPair(crt, key)
