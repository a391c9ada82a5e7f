# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start the ``dockerup`` host command from the engine's files, wherever they are.

The engine is the collection's ``plugins/module_utils/`` directory (one source of truth): from a
checkout it is found next to this file; on hosts the role installs a copy and passes its path.
It is loaded as the package ``dockerup_engine`` so its relative imports work without Ansible.
Usage: ``python3 dockerup_launcher.py [--engine-dir DIR] [dockerup arguments...]``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys

PACKAGE = "dockerup_engine"


def load_engine(engine_dir):
    spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [engine_dir]
    sys.modules[PACKAGE] = package
    return importlib.import_module(PACKAGE + ".cli")


def main(argv):
    engine_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins", "module_utils")
    if argv[:1] == ["--engine-dir"] and len(argv) > 1:
        engine_dir, argv = argv[1], argv[2:]
    try:
        cli = load_engine(os.path.normpath(engine_dir))
    except ImportError as exc:
        sys.stderr.write("dockerup: cannot load the engine from %s: %s\n" % (engine_dir, exc))
        return 1
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
