"""The Kubernetes-style REST API of each simulated cluster, under ``/clusters/<name>/``.

Thin edges over :mod:`cluster.selectors`: discovery (``resources``), errors as Status objects
(``status``), label and field selectors (``selection``), server-side printing (``tables``), and
the views. Read-only for now: get and list.
"""
