"""`GET /api/v1/cluster`: the nodes sharing a PostgreSQL database, as `shiptrack cluster status
--json` (cluster_report.py: one serialiser for both). On SQLite there is no cluster: no nodes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from shiptrack_tui.cluster_report import cluster_json
from shiptrack_tui.core.cluster_view import DEFAULT_LEASE, wanted_locations
from shiptrack_tui.web.auth import require_read
from shiptrack_tui.web.context import Ctx
from shiptrack_tui.web.responses import json_response
from shiptrack_tui.web.shapes import Cluster, problems

router = APIRouter(prefix="/api/v1", tags=["read"], dependencies=[Depends(require_read)],
                   responses=problems(401, 403))


@router.get("/cluster", summary="The cluster's nodes, as `shiptrack cluster status --json`",
            response_model=Cluster)
def cluster(ctx: Ctx) -> Response:
    config = ctx.config()
    lease = config.cluster.lease if config.cluster is not None else DEFAULT_LEASE
    return json_response(cluster_json(ctx.store.cluster_nodes(lease), wanted_locations(config.monitors)))
