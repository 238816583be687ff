"""HTTP plumbing every request passes through: request ids, log records that carry them, the 500/503 handler,
error reporting and the Content-Security-Policy header."""
