# Copyright (c) dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the pip bootstrap script that ``ansible-test --venv`` downloads.

ansible-test fetches ``get-pip-<version>.py`` from ci-files.testing.ansible.com, outside PyPI,
unless ``~/.ansible/test/cache/get_pip_<version>.py`` already exists. ``scripts/qa.sh`` copies
this file there under every pip version the ansible-test it runs may ask for (for example
``get_pip_21_3_1.py`` for ansible-core 2.15, ``get_pip_24_2.py`` for 2.18 and 2.19).
ansible-test then runs it in an empty virtual environment (created ``--without-pip``) with pip
arguments such as ``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``.

What it does:
1. drop ``--no-setuptools`` and ``--no-wheel`` (options of get-pip.py, unknown to pip);
2. run ``python -m ensurepip --upgrade --default-pip`` as a child process: ensurepip run
   in-process blanks pip's configuration, and the next pip run then fails with
   CERTIFICATE_VERIFY_FAILED;
3. run ``python -m pip install -q`` with the remaining arguments (PyPI is reachable);
4. uninstall setuptools if ``--no-setuptools`` was asked (ensurepip installs it on Python < 3.12).

When ``get_pip_standin.cert`` beside this file names a CA bundle (``scripts/qa.sh`` writes it from
``PIP_CERT``), the venv gets a ``pip.conf`` with ``cert`` set to it first: older ansible-test releases
run pip with a cleared environment, where ``PIP_CERT`` would not reach it.
"""

from __future__ import annotations

import os
import subprocess
import sys

DROPPED_OPTIONS = ("--no-setuptools", "--no-wheel")


def run(argv: list[str], quiet: bool = False) -> None:
    """Run a command with this interpreter, exiting with its status when it fails.

    With ``quiet``, the command's output is shown only when it fails.
    """
    output = subprocess.PIPE if quiet else None
    process = subprocess.run([sys.executable] + argv, stdout=output, stderr=subprocess.STDOUT if quiet else None, check=False)

    if process.returncode != 0:
        if quiet:
            sys.stderr.write(process.stdout.decode("utf-8", "replace"))

        sys.stderr.write("get_pip_standin: command failed with status %d: python %s\n" % (process.returncode, " ".join(argv)))
        sys.exit(process.returncode)


def main(args: list[str]) -> None:
    """Bootstrap pip offline, then install the requested packages."""
    pip_args = [arg for arg in args if arg not in DROPPED_OPTIONS]
    cert_note = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip_standin.cert")
    if os.path.isfile(cert_note):
        with open(cert_note, encoding="utf-8") as handle:
            cert = handle.read().strip()
        if os.path.isfile(cert):
            with open(os.path.join(sys.prefix, "pip.conf"), "w", encoding="utf-8") as handle:
                handle.write("[global]\ncert = %s\n" % cert)

    run(["-m", "ensurepip", "--upgrade", "--default-pip"], quiet=True)
    run(["-m", "pip", "install", "-q"] + pip_args)

    if "--no-setuptools" in args:
        run(["-m", "pip", "uninstall", "-q", "-y", "setuptools"])


if __name__ == "__main__":
    main(sys.argv[1:])
