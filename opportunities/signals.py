"""Hooks for apps above this one (imports flow one way: they listen, we never import them).

`opportunity_changed` is sent inside the service's transaction after every recorded change
(and after an activity is logged), so a listener can keep derived data — such as pipeline
health flags — consistent with the change in the same commit. Listeners must not have side
effects outside the database.
"""

from django.dispatch import Signal

# kwargs: opportunity_id (int), now (datetime)
opportunity_changed = Signal()

# Sent inside the closing (or reopening) service's transaction, after the deal's row and its
# event are written, so a listener's rows commit or roll back with the close itself (the
# post-mortem a close opens). kwargs: opportunity (the saved Opportunity), actor (User), now
# (datetime).
opportunity_closed = Signal()
opportunity_reopened = Signal()

# Sent inside the service's transaction when the deal's status, close day, owner or process has
# changed and been saved (closing, reopening, reassigning, moving to another process), for the
# rows above that carry them (`Opportunity.filing`). kwargs: opportunity (the saved Opportunity), actor (User).
opportunity_refiled = Signal()
