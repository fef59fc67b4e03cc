"""The pure model: Kubernetes objects + discovered AWS inventory -> desired state -> plan.

Nothing in this package performs I/O, reads the clock or imports an AWS/Kubernetes client.
"""
