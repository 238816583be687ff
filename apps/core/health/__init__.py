"""Health checks for load balancers, orchestrators and Docker: what is checked (checks), how it is run within one
deadline (runner), and the three endpoints with the middleware that answers them ahead of the host check (views)."""
