from tests.unit.real_redis import redis_client, redis_server, redis_url

__all__ = ["redis_client", "redis_server", "redis_url"]
