"""Hosted upstreams (engine kinds `openai` and `anthropic`): chat requests forwarded to an
OpenAI-compatible or Anthropic API instead of a local engine.

A client speaking the upstream's own protocol is relayed byte for byte (`relay`); any other
front door goes through the shared chat path, translated both ways (`chat`, with the pure
wire translations in `openai_wire` and `anthropic_wire`). Both retry the opening of the
request (`retry`) and send the credentials the model's auth style says (`credentials`).
`model_catalog` keeps upstreams' model lists, to send a name in the upstream's own spelling.
"""
