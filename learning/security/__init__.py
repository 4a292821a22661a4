"""Response headers, the security log and other cross-cutting protections."""
