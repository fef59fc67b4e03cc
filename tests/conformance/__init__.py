"""Gateway API HTTPRoute conformance, transcribed from upstream and run against moto."""

RESULTS: dict[str, str] = {}  # test name -> "passed" / "cannot express: ..." / "FAILED"
