"""LBC's Gateway configuration kinds (group ``gateway.k8s.aws``, versions v1 and v1beta1):
LoadBalancerConfiguration, TargetGroupConfiguration and ListenerRuleConfiguration, read onto
the model values the Ingress annotations produce (``albctl.model.values``)."""
