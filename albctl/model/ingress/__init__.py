"""Building one IngressGroup's desired state, one module per resource kind (LBC's
``pkg/ingress/model_build_*.go``).

``member`` builds each Ingress on its own from ``load_balancer``, ``listeners``,
``listener_rules`` (with ``conditions`` and ``actions``), ``target_groups`` (with
``health_check``), ``security_groups`` and ``tags``; ``merge`` folds the members into their
group; ``albctl.model.builder`` assembles the stack from the merged group.
"""
