"""Gateway API HTTPRoute and GRPCRoute conformance, transcribed from upstream and run against
moto."""

RESULTS: dict[str, str] = {}  # test name -> "passed" / "cannot express: ..." / "FAILED"
