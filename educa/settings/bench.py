"""Benchmark settings: production's, plus the benchmark's management commands (the bench app).

The native stack that `make bench` starts runs under them; production never installs the app.
"""

from .prod import *  # noqa: F403
from .prod import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
