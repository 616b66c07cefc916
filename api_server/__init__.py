"""inferstack: an OpenAI- and Anthropic-compatible gateway in front of real inference engines.

The packages stack in floors, each importing only its own floor or those below (the full
drawing is in the README, "How it works"; tests/unit/test_layering.py holds the floors):

    front doors (openai, anthropic, aisdk) and APIs  ->  deps  ->  frontdoor
    frontdoor  ->  state  ->  tracking, ratelimit, cache, upstreams
    upstreams, cache  ->  generation  ->  engines  ->  registry  ->  prompts, tools  ->  chat
"""

__version__ = "0.1.0"
