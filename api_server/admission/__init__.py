"""Admission: while every replica of a model is saturated, requests wait in a bounded queue
in the gateway, fairly, instead of failing or piling into the engines' first-come queues.

`priority` (classes and the X-Priority header) → `usage` (tokens served per tenant over a
window) → `queue` (one model's fair queue) → `capacity` (free slots from the replicas'
loads, pure) → `engine_load` (those loads read from the engine replicas; builds the
queues) → `control` (what the front doors call) and `metrics`.
"""
