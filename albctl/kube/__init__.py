"""The Kubernetes adapter: the only package that talks to the Kubernetes API."""
