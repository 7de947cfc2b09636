"""One router per resource."""

from serving.routes import (
    admin,
    audience,
    bundle_info,
    creators,
    events,
    health,
    me,
    merchants,
    onboarding,
    plans,
    products,
    rankings,
    sample_lists,
    score,
)
from serving.routes import alerts as alert_routes
from serving.routes import experiments as experiment_routes
from serving.routes import invites as invite_routes
from serving.routes import lookalikes as lookalike_routes
from serving.routes import samples as sample_routes
from serving.routes import statements as statement_routes
from serving.routes import task_reports as task_report_routes
from serving.routes import task_reviews as task_review_routes
from serving.routes import tasks as task_routes
from serving.routes import trend as trend_routes
from serving.routes import whatif as whatif_routes

ROUTERS = [
    creators.router,
    products.router,
    whatif_routes.router,
    merchants.router,
    alert_routes.router,
    lookalike_routes.creators_router,
    trend_routes.router,
    lookalike_routes.merchants_router,
    score.router,
    rankings.router,
    plans.router,
    onboarding.router,
    invite_routes.router,
    sample_routes.router,
    statement_routes.router,
    task_routes.router,
    task_review_routes.router,
    task_report_routes.router,
    sample_lists.router,
    audience.router,
    me.router,
    bundle_info.router,
    events.router,
    experiment_routes.router,
    admin.router,
    health.router,
]

__all__ = ["ROUTERS"]
