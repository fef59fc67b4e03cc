"""albctl: turn Kubernetes Ingress objects into AWS Application Load Balancers."""

__version__ = "0.1.0"
