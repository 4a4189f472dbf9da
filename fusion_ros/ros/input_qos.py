# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Camera subscriptions whose reliability follows the publishers (``input_reliability``).

Most camera drivers publish with the sensor-data QoS (BEST_EFFORT). A RELIABLE subscription never
matches such a publisher: zero frames and an "incompatible QoS ... RELIABILITY" event. A
BEST_EFFORT subscription matches both kinds, but then a reliable publisher no longer resends lost
fragments. So ``auto`` does what ``ros2 bag record`` does: BEST_EFFORT when any publisher of the
topic is best effort, else RELIABLE, and it is re-evaluated whenever the caller polls
(:meth:`InputSubscription.update`, the node's timer) so publishers that appear later are matched
too. ``reliable`` / ``best_effort`` pin the policy (and an incompatible publisher is reported).

An explicit ``qos_overrides.<topic>.subscription.reliability`` that differs from the first choice
also pins the policy; history and depth overrides are kept when a subscription is recreated.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Callable, Iterable, List, Optional, Tuple

from fusion_ros.ros.diagnostics import OK, WARN
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import qos_policy_name_from_kind, QoSProfile, ReliabilityPolicy

RELIABILITY_MODES = ('auto', 'reliable', 'best_effort')
_NAMES = {ReliabilityPolicy.RELIABLE: 'reliable', ReliabilityPolicy.BEST_EFFORT: 'best_effort'}


def choose_reliability(mode: str, offered: Iterable[ReliabilityPolicy]) -> ReliabilityPolicy:
    """Return the reliability to subscribe with.

    Given ``mode`` and the publishers' reliabilities.
    """
    if mode == 'reliable':
        return ReliabilityPolicy.RELIABLE
    if mode == 'best_effort':
        return ReliabilityPolicy.BEST_EFFORT
    if mode != 'auto':
        raise ValueError(f'input_reliability must be one of {RELIABILITY_MODES}, not {mode!r}')
    if any(policy == ReliabilityPolicy.BEST_EFFORT for policy in offered):
        return ReliabilityPolicy.BEST_EFFORT
    return ReliabilityPolicy.RELIABLE


def reliability_name(policy: ReliabilityPolicy) -> str:
    return _NAMES.get(policy, str(policy.name).lower())


class InputSubscription:
    """One camera input: a subscription (re)created with the reliability its publishers need.

    ``label`` names the input in logs and diagnostics ("visible", "thermal"). Thread-safe:
    :meth:`update` runs on the executor (a timer), the QoS event callback too.
    """

    def __init__(
        self,
        node,
        msg_type,
        topic: str,
        callback: Callable[[Any], None],
        qos: QoSProfile,
        mode: str,
        label: str,
        *,
        overriding_options=None,
        callback_group=None,
    ) -> None:
        self.node, self.msg_type, self.topic, self.label = node, msg_type, topic, label
        self.callback_group = callback_group
        self.mode = mode
        self._callback = callback
        self._lock = threading.Lock()
        self.events = 0  # incompatible-QoS events since start
        self.last_policy = ''  # the policy the last event named, e.g. RELIABILITY
        self._event_pending = False  # an event since the subscription was (re)created
        self.recreated = 0
        requested = choose_reliability(mode, self.offered())
        wanted = copy.copy(qos)
        wanted.reliability = requested
        self.subscription = self._create(wanted, overriding_options)
        self.profile: QoSProfile = self.subscription.qos_profile  # with overrides applied
        self.pinned = mode != 'auto' or self.profile.reliability != requested

    # ------------------------------------------------------------------ graph
    def offered(self) -> List[ReliabilityPolicy]:
        """Reliability of every publisher of the topic now (other processes included)."""
        return [
            info.qos_profile.reliability
            for info in self.node.get_publishers_info_by_topic(self.topic)
        ]

    @property
    def reliability(self) -> ReliabilityPolicy:
        return self.profile.reliability

    def update(self) -> bool:
        """Re-evaluate against the publishers; recreate the subscription if it should change.

        Returns True when it was recreated (the caller may log it).
        """
        if self.pinned:
            return False
        wanted = choose_reliability(self.mode, self.offered())
        if wanted == self.profile.reliability:
            return False
        profile = copy.copy(self.profile)
        profile.reliability = wanted
        self.node.destroy_subscription(self.subscription)
        self.subscription = self._create(profile, None)
        self.profile = self.subscription.qos_profile
        with self._lock:
            self._event_pending = False
            self.recreated += 1
        return True

    def _create(self, profile: QoSProfile, overriding_options):
        events = SubscriptionEventCallbacks(incompatible_qos=self._on_incompatible)
        return self.node.create_subscription(
            self.msg_type,
            self.topic,
            self._callback,
            profile,
            event_callbacks=events,
            qos_overriding_options=overriding_options,
            callback_group=self.callback_group,
        )

    def _on_incompatible(self, info) -> None:
        with self._lock:
            self.events += 1
            self.last_policy = qos_policy_name_from_kind(info.last_policy_kind).replace(
                '_QOS_POLICY', ''
            )
            self._event_pending = True

    # ------------------------------------------------------------------ reporting
    def report(self) -> Tuple[int, str, List[Tuple[str, str]]]:
        """(level, message, key/values) for /diagnostics: WARN while a publisher cannot match."""
        offered = self.offered()
        mine = self.profile.reliability
        blocked = sum(
            1
            for p in offered
            if mine == ReliabilityPolicy.RELIABLE and p == ReliabilityPolicy.BEST_EFFORT
        )
        with self._lock:
            events, policy, pending = self.events, self.last_policy, self._event_pending
        how = 'pinned' if self.pinned else 'auto'
        values = [
            (f'{self.label}_reliability', f'{reliability_name(mine)} ({how})'),
            (f'{self.label}_publishers', str(len(offered))),
            (f'{self.label}_qos_incompatible_events', str(events)),
            (f'{self.label}_qos_incompatible_policy', policy),
        ]
        if blocked or pending:
            name = policy or 'RELIABILITY'
            count = f'{blocked} publisher(s)' if blocked else 'a publisher'
            message = (
                f'{self.label}: {count} of {self.topic} offer incompatible QoS ({name}), '
                f'no frames from them (input_reliability:={self.mode}; auto or '
                'best_effort matches best-effort cameras)'
            )
            return WARN, message, values
        return OK, '', values

    def destroy(self) -> None:
        self.node.destroy_subscription(self.subscription)


def describe_change(sub: InputSubscription) -> str:
    """Log line for a recreated subscription."""
    offered = ', '.join(sorted({reliability_name(p) for p in sub.offered()})) or 'nothing'
    return (
        f'{sub.topic}: publishers offer {offered}; subscribing {reliability_name(sub.reliability)}'
    )


def update_all(
    subs: Iterable[InputSubscription], log: Optional[Callable[[str], None]] = None
) -> int:
    """Poll every input; returns how many were recreated."""
    changed = 0
    for sub in subs:
        if sub.update():
            changed += 1
            if log is not None:
                log(describe_change(sub))
    return changed
