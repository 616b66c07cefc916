"""When each request of an open-loop run is sent: a seeded schedule of arrival times.

Inter-arrival gaps are drawn from a gamma distribution with shape = `burstiness` and mean
1/rate, as vLLM's `benchmark_serving --burstiness` defines them: burstiness 1 is a Poisson
process (exponential gaps), below 1 the requests come in bursts, above 1 they come more
evenly (a very large value is a fixed interval). The schedule depends only on its
arguments, never on how fast answers come back: that is what keeps an open-loop run free of
coordinated omission.

Pure: no Locust, no clock.
"""

from __future__ import annotations

import random


def arrival_offsets(
    rate: float, duration_s: float, burstiness: float = 1.0, seed: int = 0
) -> list[float]:
    """Seconds from the start at which to send each request, ascending, all < `duration_s`.

    `rate` is the mean number of requests per second.
    """
    if rate <= 0:
        raise ValueError(f"the request rate must be above 0, got {rate}")
    if burstiness <= 0:
        raise ValueError(f"burstiness must be above 0, got {burstiness}")
    rng = random.Random(seed)
    scale = 1.0 / (rate * burstiness)  # gamma's mean is shape * scale = 1 / rate
    offsets = []
    at = rng.gammavariate(burstiness, scale)
    while at < duration_s:
        offsets.append(at)
        at += rng.gammavariate(burstiness, scale)
    return offsets
