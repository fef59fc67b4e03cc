"""Value checks shared by the two input languages: the ``alb.ingress.kubernetes.io/*``
annotations (and IngressClassParams) and LBC's ``gateway.k8s.aws`` configuration kinds.

Each reader parses its own syntax (an annotation string, a CRD field) and hands the typed value
to the function here that checks it and turns it into the model's value, with ``fail`` building
the error that names the reader's object and field. So a value means the same in both languages
and is checked once.
"""

from collections.abc import Callable

from albctl.errors import InvalidInputError

Fail = Callable[[str], InvalidInputError]

__all__ = ["Fail"]
