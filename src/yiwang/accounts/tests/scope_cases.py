"""Scope cases for the kernel's API operations and pages (see yiwang.core.testing)."""

from __future__ import annotations

from yiwang.core.testing import EndpointCase, Probe, register


def _user(w, key):
    return w.users[key].pk


# --- API --------------------------------------------------------------------------------------
register(EndpointCase("GET", "/api/v1/health", in_scope=lambda w: Probe(None), public=True))
register(EndpointCase("GET", "/api/v1/me", in_scope=lambda w: Probe("resident_a")))
register(EndpointCase("GET", "/api/v1/me/tokens", in_scope=lambda w: Probe("resident_a")))
register(
    EndpointCase(
        "PUT",
        "/api/v1/me/language",
        in_scope=lambda w: Probe("resident_a", body={"language": "en"}),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/me/tokens",
        in_scope=lambda w: Probe("dept_staff_a", body={"name": "etl"}, expect=201),
    )
)
register(
    EndpointCase(
        "DELETE",
        "/api/v1/me/tokens/{token_id}",
        in_scope=lambda w: Probe("dept_staff_a", {"token_id": w.extra["token_a"].pk}, expect=204),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", {"token_id": w.extra["token_a"].pk}, expect=404
        ),
    )
)
register(EndpointCase("GET", "/api/v1/accounts/users", in_scope=lambda w: Probe("dept_leader_a")))
register(
    EndpointCase(
        "GET",
        "/api/v1/accounts/users/{user_id}",
        in_scope=lambda w: Probe("dept_leader_a", {"user_id": _user(w, "dept_staff_a")}),
        out_of_scope=lambda w: Probe(
            "dept_leader_b", {"user_id": _user(w, "dept_staff_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/accounts/users",
        in_scope=lambda w: Probe(
            "sysadmin_a",
            body={
                "username": "newbie",
                "role": "dept_staff",
                "password": "Str0ng#Passw0rd",
                "department_code": "330106-cgj",
            },
            expect=201,
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_a",
            body={"username": "newbie2", "role": "dept_staff", "password": "Str0ng#Passw0rd"},
            expect=403,
        ),
        note="creating users is a capability, not an object in scope: 403 for others",
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/accounts/users/{user_id}/active",
        in_scope=lambda w: Probe(
            "sysadmin_a",
            {"user_id": _user(w, "resident_a")},
            body={"active": False, "reason": "left"},
        ),
        out_of_scope=lambda w: Probe(
            "operator_b",
            {"user_id": _user(w, "resident_a")},
            body={"active": False, "reason": "x"},
            expect=403,
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/accounts/users/{user_id}/unmask",
        in_scope=lambda w: Probe(
            "dept_leader_a",
            {"user_id": _user(w, "dept_staff_a")},
            body={"field": "phone", "purpose": "回访核实"},
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b",
            {"user_id": _user(w, "dept_staff_a")},
            body={"field": "phone", "purpose": "回访核实"},
            expect=404,
        ),
    )
)
register(
    EndpointCase("GET", "/api/v1/accounts/departments", in_scope=lambda w: Probe("operator_a"))
)
register(
    EndpointCase(
        "GET",
        "/api/v1/accounts/departments/{department_id}",
        in_scope=lambda w: Probe("operator_a", {"department_id": w.departments["bureau_a"].pk}),
        out_of_scope=lambda w: Probe(
            "operator_b", {"department_id": w.departments["bureau_a"].pk}, expect=404
        ),
    )
)
register(EndpointCase("GET", "/api/v1/accounts/divisions", in_scope=lambda w: Probe("resident_a")))
register(
    EndpointCase(
        "GET",
        "/api/v1/accounts/divisions/{code}",
        in_scope=lambda w: Probe("resident_a", {"code": "330106"}),
        out_of_scope=lambda w: Probe("resident_a", {"code": "999999"}, expect=404),
        note="divisions are public reference data; an unknown code is 404",
    )
)
register(
    EndpointCase(
        "GET",
        "/api/v1/core/audit/records",
        in_scope=lambda w: Probe("auditadmin_a"),
        out_of_scope=lambda w: Probe("sysadmin_a", expect=404),
        note="三权分立: only the audit admin reads the log",
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/core/audit/verify",
        in_scope=lambda w: Probe("auditadmin_a"),
        out_of_scope=lambda w: Probe("sysadmin_a", expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/core/ids/check",
        in_scope=lambda w: Probe(
            "dept_staff_a", body={"kind": "resident_id", "value": "11010519491231002X"}
        ),
    )
)

# --- Pages ------------------------------------------------------------------------------------
register(EndpointCase("GET", "/", in_scope=lambda w: Probe(None), public=True))
register(
    EndpointCase(
        "POST",
        "/accounts/logout/",
        in_scope=lambda w: Probe("resident_a", expect=302),
        public=True,
        note="logging out is harmless for anyone",
    )
)
register(EndpointCase("GET", "/accounts/otp/", in_scope=lambda w: Probe("sysadmin_a")))
register(EndpointCase("GET", "/accounts/profile/", in_scope=lambda w: Probe("resident_a")))
register(
    EndpointCase("GET", "/accounts/profile/access-log/", in_scope=lambda w: Probe("resident_a"))
)
register(
    EndpointCase(
        "GET",
        "/portal/",
        in_scope=lambda w: Probe("resident_a"),
        out_of_scope=lambda w: Probe("dept_staff_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/",
        in_scope=lambda w: Probe("grid_worker_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/users/",
        in_scope=lambda w: Probe("dept_leader_a"),
        out_of_scope=lambda w: Probe("grid_worker_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/users/{user_id}/",
        in_scope=lambda w: Probe("dept_leader_a", {"user_id": _user(w, "dept_staff_a")}),
        out_of_scope=lambda w: Probe(
            "dept_leader_b", {"user_id": _user(w, "dept_staff_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        "/console/users/{user_id}/unmask/",
        in_scope=lambda w: Probe(
            "dept_leader_a",
            {"user_id": _user(w, "dept_staff_a")},
            body={"field": "phone", "purpose": "回访核实"},
        ),
        out_of_scope=lambda w: Probe(
            "dept_leader_b",
            {"user_id": _user(w, "dept_staff_a")},
            body={"field": "phone", "purpose": "回访核实"},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/audit/",
        in_scope=lambda w: Probe("auditadmin_a"),
        out_of_scope=lambda w: Probe("sysadmin_a", expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        "/console/audit/verify/",
        in_scope=lambda w: Probe("auditadmin_a"),
        out_of_scope=lambda w: Probe("secadmin_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/security/",
        in_scope=lambda w: Probe("secadmin_a"),
        out_of_scope=lambda w: Probe("auditadmin_a", expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        "/console/security/unlock/",
        in_scope=lambda w: Probe("secadmin_a", body={"username": "resident_a"}, expect=302),
        out_of_scope=lambda w: Probe("sysadmin_a", body={"username": "resident_a"}, expect=404),
    )
)
