"""inferstack beside LiteLLM's proxy on the same fake upstreams, the same load generator and
the same paths (issue 19): ``python -m bench.peers`` / ``make bench-peers``. See bench/README.md.

Modules: ``paths`` (the request bodies and configs, pure), ``litellm_venv`` (the pinned
throwaway install), ``report`` (rows, ratios and the table, pure), ``run`` (servers and load).
"""
