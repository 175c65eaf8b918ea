"""Event subscribers: a completed service invites its recipient to rate it.

``onestop.matter_completed`` (一网通办) carries ``service_ref``, ``application_no``,
``matter_code``, ``matter_name``, ``department_id``, ``department_name``,
``applicant_user_id``, ``channel`` and ``completed_at``. Any other app that delivers a service
(一网统管 cases) publishes ``<app>.service_completed`` with the same keys and adds its name to
``SERVICE_EVENTS``. Delivery is idempotent: one invitation per service per rater.
"""

from __future__ import annotations

from typing import Any

from yiwang.core import events

SERVICE_EVENTS = ("onestop.matter_completed",)


def invite(payload: dict[str, Any]) -> None:
    from yiwang.ratings.actions import invite_from_event

    invite_from_event(payload)


for _name in SERVICE_EVENTS:
    events.subscribe(_name, invite, background=True)
