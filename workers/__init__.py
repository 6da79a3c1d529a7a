"""Workers: the light scheduler, notice delivery, escalations, status polling.

Importing the package registers supervision's transition handlers (order escalation, automatic
rules) with the light scheduler, so every process that can run a scheduler pass has them.
"""
from esupervision.workers import escalation  # noqa: F401
