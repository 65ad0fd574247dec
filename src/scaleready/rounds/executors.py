"""Where a round is assessed: the local process pool, or an existing Dask distributed cluster.

Both are a ``batch.Executor``: tasks in, each task's outcomes back in input order. The Dask
one (rounds/cluster.py) needs the ``dask`` extra, imported only when it is chosen.
"""

from __future__ import annotations

from scaleready.errors import ClusterError
from scaleready.rounds.batch import Executor, LocalPool

EXECUTORS = ("local", "dask")
INSTALL_DASK = "pip install 'scaleready[dask]'"


def executor_for(name: str, *, jobs: int = 1, scheduler: str | None = None) -> Executor:
    """The executor called ``name``: "local" (``jobs`` processes) or "dask" (at ``scheduler``)."""
    if name == "local":
        if scheduler is not None:
            raise ClusterError("--scheduler is for --executor dask; leave it out, or add that")
        return LocalPool(jobs)
    if name != "dask":
        raise ClusterError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    if scheduler is None:
        raise ClusterError(
            "--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786), the address "
            "of a running Dask scheduler"
        )
    try:
        from scaleready.rounds.cluster import DaskCluster
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in {"dask", "distributed"}:
            raise
        raise ClusterError(
            f"--executor dask needs Dask's distributed package, which cannot be imported "
            f"({error}); install it with {INSTALL_DASK}"
        ) from None
    return DaskCluster(scheduler)
