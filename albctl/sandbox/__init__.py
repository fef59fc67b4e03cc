"""In-memory Kubernetes API server for local runs and tests (``albctl sandbox``).

No kube-apiserver can be installed where albctl is developed and demonstrated, so this
package serves the kinds the controller uses (core Namespace/Node/Service/Pod/Secret/Event,
EndpointSlice, Ingress/IngressClass, Lease, events.k8s.io Event, webhook configurations and
the albctl.io CRDs) closely enough that the official Python client and stock kubectl work
against it unchanged, and calls admission webhooks as kube-apiserver does.
"""

from albctl.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
