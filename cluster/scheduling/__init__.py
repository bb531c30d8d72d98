"""Pure scheduling: Kubernetes' quantities, taints and tolerations, and the default-scheduler's
filter and score plugins over plain dataclasses. No Django, no I/O, no clock, no global random:
callers build the inputs (``types``) and pass an ``rng`` in.

- ``quantity``: parse and print resource quantities (``100m``, ``128Mi``).
- ``types``: ``Resources``, ``Taint``, ``Toleration``, ``NodeInfo``, ``PodInfo`` and their
  builders from API bodies, with the pod request arithmetic.
- ``tolerations``: ``ToleratesTaint`` and the taint-eviction delay.
- ``filters`` / ``scores``: one function per modelled plugin.
- ``framework``: one scheduling cycle (``schedule_one``) and the FitError message.
"""
