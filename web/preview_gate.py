"""Fair turns at the runner's dry-run slots (red team web round four, finding 5).

The runner refuses a dry run at once when its ``TREE_PREVIEW_SLOTS`` are taken, and a refusal
costs nothing, so whoever asked again fastest got the slot: one client keeping a few spinning
previews in flight (a new User-Agent each, so a new identity each) kept it from everyone. Web
now hands the slots out itself. A request waits for its turn up to ``TREE_PREVIEW_WAIT``
seconds; turns go round the addresses (the one served longest ago first) and, within one
address (a lab behind one NAT), first come first served. So however often one address asks,
every other address waiting gets a turn before its next one, and nobody who asks later from
the same address overtakes someone already waiting. Each user may have one preview waiting or
running; each address ``PER_GROUP`` waiting; everyone ``MAX_WAITING``. The background
predictions of queued programs (``web.predictions``) wait here as an address of their own.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

MAX_WAITING = 64  # requests waiting for a turn, everyone together
PER_GROUP = 8  # of them from one address
FORGET_AFTER = 256  # turns after which an idle address's last turn is forgotten

Outcome = Literal["granted", "yours", "full", "timeout"]
_tickets = itertools.count()


@dataclass(eq=False)
class _Ticket:
    user: str
    group: str
    seq: int = field(default_factory=lambda: next(_tickets))
    granted: bool = False


class PreviewGate:
    """At most ``slots`` dry runs at once; waiting requests served round robin by address."""

    def __init__(self, slots: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.slots = max(1, slots)
        self.clock = clock
        self._cond = threading.Condition()
        self._queues: dict[str, deque[_Ticket]] = {}  # address -> waiting, first come first
        self._users: set[str] = set()  # users with a preview waiting or running
        self._busy = 0
        self._turns = 0
        self._last_turn: dict[str, int] = {}  # address -> number of its latest turn

    @property
    def waiting(self) -> int:
        """Requests waiting for a turn now."""
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def acquire(self, user: str, group: str, wait_s: float) -> Outcome:
        """Wait up to ``wait_s`` for a turn; ``granted`` means call ``release(user)`` after."""
        with self._cond:
            if user in self._users:
                return "yours"
            queue = self._queues.get(group)
            waiting = sum(len(q) for q in self._queues.values())
            if waiting >= MAX_WAITING or (queue is not None and len(queue) >= PER_GROUP):
                return "full"
            ticket = _Ticket(user, group)
            self._users.add(user)
            self._queues.setdefault(group, deque()).append(ticket)
            self._dispatch()
            deadline = self.clock() + wait_s
            while not ticket.granted:
                left = deadline - self.clock()
                if left <= 0:
                    self._withdraw(ticket)
                    return "timeout"
                self._cond.wait(left)
            return "granted"

    def release(self, user: str) -> None:
        """End a granted turn: the next waiting request gets the slot."""
        with self._cond:
            self._users.discard(user)
            self._busy = max(0, self._busy - 1)
            self._dispatch()

    def _withdraw(self, ticket: _Ticket) -> None:
        queue = self._queues.get(ticket.group)
        if queue is not None and ticket in queue:
            queue.remove(ticket)
            if not queue:
                del self._queues[ticket.group]
        self._users.discard(ticket.user)

    def _dispatch(self) -> None:
        """Hand free slots out: the address served longest ago first, its oldest request."""
        while self._busy < self.slots and self._queues:
            group = min(
                self._queues,
                key=lambda g: (self._last_turn.get(g, -1), self._queues[g][0].seq),
            )
            queue = self._queues[group]
            ticket = queue.popleft()
            if not queue:
                del self._queues[group]
            ticket.granted = True
            self._busy += 1
            self._turns += 1
            self._last_turn[group] = self._turns
            self._cond.notify_all()
        if len(self._last_turn) > 4 * FORGET_AFTER:  # addresses that left long ago
            recent = self._turns - FORGET_AFTER
            self._last_turn = {
                g: t for g, t in self._last_turn.items() if t > recent or g in self._queues
            }
