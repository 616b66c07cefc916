"""The gateway's batch runner, built from the app state (the lifespan starts and stops it):
the batch rows in PostgreSQL, the files in the object store, lines through this gateway's
front doors, paced against this process's interactive traffic."""

from __future__ import annotations

from api_server.batches.execute import GatewayLineExecutor
from api_server.batches.files import StoredBatchFiles
from api_server.batches.priority import BatchSlots
from api_server.batches.runner import BatchRunner, RunnerSettings
from api_server.embeddings_api.service import names_model
from api_server.errors import InferstackError
from api_server.state import AppState


def gateway_batch_runner(state: AppState) -> BatchRunner | None:
    """None when batches cannot run here (no storage) or the runner is turned off."""
    if not state.settings.batch_runner_enabled:
        return None
    return build_batch_runner(state)


def build_batch_runner(state: AppState) -> BatchRunner | None:
    """The runner, not started; None without the storage batches need."""
    storage = state.batch_storage
    settings = state.settings
    if storage is None:
        return None
    slots = BatchSlots(
        settings.batch_max_concurrency_per_model,
        settings.batch_interactive_threshold,
        lambda model: engine_in_flight(state, model),
    )
    return BatchRunner(
        storage.batches,
        StoredBatchFiles(storage.objects, settings.max_body_bytes),
        GatewayLineExecutor(state),
        slots,
        RunnerSettings(
            max_active=settings.batch_max_active,
            poll_interval_s=settings.batch_poll_interval_s,
            lease_s=settings.batch_lease_s,
        ),
        can_run=lambda endpoint, model: serves(state, endpoint, model),
        ready=storage.ready,
    )


def engine_in_flight(state: AppState, model: str) -> int:
    """The model's requests in flight at its engines from this process (0: not ours)."""
    try:
        runtime = state.runtime_for(model)
    except InferstackError:
        return 0
    return sum(replica.in_flight for replica in runtime.pool.replicas)


def serves(state: AppState, endpoint: str, model: str) -> bool:
    """This gateway knows the batch's model (a batch for another gateway's model is left to
    that gateway, whatever database they share)."""
    if endpoint == "/v1/embeddings":
        embedder = state.embedder
        return embedder is not None and names_model(model, embedder.model_name)
    try:
        state.runtime_for(model)
    except InferstackError:
        return False
    return True
