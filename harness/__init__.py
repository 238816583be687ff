"""Real services started by the project itself, for tests and benchmarks alike: one place to start and stop them."""
