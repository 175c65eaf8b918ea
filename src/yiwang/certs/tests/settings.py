"""Test-only settings until the app is integrated: the project's test settings plus this app.

Run: ``python -m pytest src/yiwang/certs --ds=yiwang.certs.tests.settings``
"""

from yiwang.config.test_settings import *  # noqa: F403
from yiwang.config.test_settings import INSTALLED_APPS

if "yiwang.certs" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS[:-1], "yiwang.certs", INSTALLED_APPS[-1]]
    ROOT_URLCONF = "yiwang.certs.tests.urls"
