"""Stand-ins for engines and hosted upstreams, for unit tests and for measuring the
gateway's own overhead (`make bench`); never the only proof that a feature works."""
