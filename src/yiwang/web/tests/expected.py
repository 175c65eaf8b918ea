"""What each demo account should see of the kernel's main navigation, written out by hand so that a
change to roles, capabilities or navigation shows up as a test failure to look at."""

from __future__ import annotations

# The kernel's own entries; modules (grid, registry, ...) add theirs, checked against
# navigation.items_for rather than listed here.
KERNEL_NAV = frozenset({"portal", "console", "users", "audit", "security", "admin"})

NAV_BY_ACCOUNT: dict[str, list[str]] = {
    "resident": ["portal"],
    "enterprise": ["portal"],
    "gridworker": ["console"],
    "staff": ["console"],
    "leader": ["console", "users"],
    "operator": ["console", "users"],
    "dataadmin": ["console"],
    "sysadmin": ["console", "users", "admin"],
    "secadmin": ["console", "users", "security", "admin"],
    "auditadmin": ["console", "audit"],
    "staff2": ["console"],
    "leader2": ["console", "users"],
}

# Any character in the CJK blocks the UI could use (unified ideographs, extension A,
# compatibility ideographs, CJK punctuation, full-width forms).
CJK_PATTERN = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
