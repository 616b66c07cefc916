"""What every front door (OpenAI, Anthropic, AI SDK) shares above the caches, rate
limits and upstreams: one tracked, admitted request, served from a cache or generated
on a local engine or a hosted upstream."""
