"""Hooks for apps above this one (imports flow one way: they listen, we never import them).

`opportunity_changed` is sent inside the service's transaction after every recorded change
(and after an activity is logged), so a listener can keep derived data — such as pipeline
health flags — consistent with the change in the same commit. Listeners must not have side
effects outside the database.
"""

from django.dispatch import Signal

# kwargs: opportunity_id (int), now (datetime)
opportunity_changed = Signal()
