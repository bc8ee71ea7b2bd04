"""What a rollout does when a service fails its health gate (``--on-failure``).

Its own module, re-exported by ``stackctl.rollout.options``: ``apply`` checks the
option before anything else, and a no-op apply needs nothing more of the rollout
package (start-up time).
"""

from __future__ import annotations

from enum import StrEnum


class FailurePolicy(StrEnum):
    ROLLBACK = "rollback"  # undo every change of this apply, exit 3
    PAUSE = "pause"  # start no further waves, exit 4
    CONTINUE = "continue"  # finish the other services, exit 4
