"""Central Analytics infrastructure (CDK v2): one construct per concern, one thin stack."""
