"""A live terminal dashboard of the gateway, read over HTTP from `/metrics` and `/health/ready`.

Modules, one concept each: `exposition` (Prometheus text → snapshot), `promql` (rate and
histogram_quantile over two snapshots), `history` (ring buffer of timed samples), `health`
(the readiness JSON), `figures` (the dashboard's numbers), `sparkline`, `render` (rich),
`scrape` (HTTP), `app` (the refresh loop) and `cli`.
"""
