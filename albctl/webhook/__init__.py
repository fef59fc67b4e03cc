"""Admission webhooks served by ``albctl run``: the pod readiness gate injector and the
validation of Ingresses and IngressClassParams (AdmissionReview v1 over HTTPS)."""
