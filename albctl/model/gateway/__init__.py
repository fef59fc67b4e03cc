"""Building one Gateway's desired state from the Gateway API (``gateway.networking.k8s.io``),
one module per concern: ``objects`` (the kinds as albctl reads them), ``listeners``,
``attachment``, ``hostnames``, ``matches``, ``filters``, ``backends``, ``rules`` (precedence and
ALB rules), ``status``; ``build`` assembles the stack with the pieces shared with the Ingress
builder.
"""
