"""One router per resource."""

from serving.routes import admin, creators, events, health, merchants, plans, products, rankings, score

ROUTERS = [
    creators.router,
    products.router,
    merchants.router,
    score.router,
    rankings.router,
    plans.router,
    events.router,
    admin.router,
    health.router,
]

__all__ = ["ROUTERS"]
