"""``albctl migrate --to gateway``: Ingresses written for albctl or LBC into the Gateway API,
on the same load balancer (pure: documents in, documents and report out)."""

from albctl.migrate.gateway.convert import to_gateway

__all__ = ["to_gateway"]
