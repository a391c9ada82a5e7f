# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hypothesis profiles for the property-based tests (tests/unit/plugins/module_utils/test_fuzz.py).

``ci`` (the default): derandomized (the same cases on every run, no example database), no deadline,
enough examples that the fuzz module runs more than 10,000 cases. ``dev``: a quick run while editing;
``HYPOTHESIS_PROFILE=dev pytest tests/unit``. ``deep``: a long randomized hunt (new cases each run).
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the fuzz module skips itself without hypothesis
    settings = None

if settings is not None:
    _COMMON = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    settings.register_profile("ci", max_examples=3000, derandomize=True, print_blob=True, **_COMMON)
    settings.register_profile("dev", max_examples=200, derandomize=False, **_COMMON)
    settings.register_profile("deep", max_examples=50000, derandomize=False, **_COMMON)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
