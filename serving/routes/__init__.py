"""One router per resource."""

from serving.routes import admin, creators, events, health, merchants, onboarding, plans, products, rankings, score
from serving.routes import invites as invite_routes
from serving.routes import samples as sample_routes

ROUTERS = [
    creators.router,
    products.router,
    merchants.router,
    score.router,
    rankings.router,
    plans.router,
    onboarding.router,
    invite_routes.router,
    sample_routes.router,
    events.router,
    admin.router,
    health.router,
]

__all__ = ["ROUTERS"]
