"""A service's routes in one flat table.

``FastAPI.include_router`` (0.165) keeps each included router as a branch that is resolved at
request time: every request walks the branches' routes twice (once to find the branch, once
inside it), each step saving and restoring keys of the request's scope. Measured on this
machine, finding ``POST /v1/pre-deal-checks`` among risk's six routers took 65 us per walk,
about 8 % of the request's CPU. ``include_routes`` adds each route of a router to the app's
own router instead, as if it had been declared there (``add_api_route``: the app's
dependencies, such as ``refuse_control_characters``, are merged in as for the app's own
routes); a request then tries plain routes one regex each. The OpenAPI document is the same
(a unit test compares them).
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

# The settings of ``add_api_route`` that an ``APIRoute`` keeps under the same name (all but
# the path and endpoint, passed by position, and the route class, passed as the route's own).
_SETTINGS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "path", "endpoint", "route_class_override")
)


def include_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Add every route of ``routers``, in order, to ``app``'s own route table (a route's
    path already holds its router's prefix). Only ``APIRoute``s: anything else, such as an
    included router, is refused here, at start-up."""
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"include_routes takes API routes only, not {route!r}")
            settings: dict[str, Any] = {name: getattr(route, name) for name in _SETTINGS}
            app.router.add_api_route(
                route.path, route.endpoint, route_class_override=type(route), **settings
            )
