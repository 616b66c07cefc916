"""stackctl: run the native inferstack stack (engine, gateway, ...) under supervisord.

`python -m stackctl start|stop|status|logs [service]|restart`; services come from
configs/stack.yaml, runtime files live in the state folder (.state/ by default).
"""
