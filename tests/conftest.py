"""The whole suite runs apart from the user's own aiexport data.

The CLI finds its ledger, screening lists, cache and API token under the platform's user
directories (XDG on Linux). A test that read a developer's or a CI machine's ledger there
could screen against lists someone loaded by hand, or trip over an old schema, so each test
session gets empty directories of its own; a test that needs a particular database still sets
AIEXPORT_DATABASE_URL itself.
"""

from __future__ import annotations

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="aiexport-tests-")


def pytest_configure(config):
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        path = os.path.join(_HOME, sub)
        os.makedirs(path, exist_ok=True)
        os.environ[var] = path
    for var in ("AIEXPORT_DATABASE_URL", "AIEXPORT_TOKEN", "AIEXPORT_TOKEN_FILE"):
        os.environ.pop(var, None)
