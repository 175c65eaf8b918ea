"""Test-only settings until the platform integrates the app: the test settings plus
``yiwang.ratings`` and a URLconf that mounts its pages and API router.

    python -m pytest src/yiwang/ratings --ds=yiwang.ratings.tests.settings -p no:randomly
"""

from yiwang.config.test_settings import *  # noqa: F403
from yiwang.config.test_settings import INSTALLED_APPS

if "yiwang.ratings" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "yiwang.ratings"]
ROOT_URLCONF = "yiwang.ratings.tests.urls"
