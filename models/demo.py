"""Demo data: an org with collections and dashboards to build a frontend against."""

from models.content import Collection, Dashboard
from models.identity import ApiToken, Org, Project, User

DEMO_ORG, DEMO_EMAIL = "demo", "demo@example.com"


def load_demo():
    """Create the demo org once; every call returns a fresh token for its admin."""
    user = User.get_or_none(User.email == DEMO_EMAIL)
    if user is None:
        org = Org.create(name=DEMO_ORG)
        project = Project.create(org=org, name="default")
        user = User.create(org=org, email=DEMO_EMAIL, name="Demo Admin", role="admin")
        _content(project, user)
    project = Project.get((Project.org == user.org_id) & (Project.name == "default"))
    _, token = ApiToken.issue(user, project)
    return user, project, token


def _content(project, user):
    sales = Collection.create(project=project, name="Sales", description="Revenue and pipeline")
    Collection.create(project=project, parent=sales, name="EMEA", description="Regional views")
    ops = Collection.create(project=project, name="Operations", description="Fulfilment and support")
    Dashboard.create_with_first_page(
        project=project, owner=user, collection=sales, name="Revenue overview",
        description="Monthly revenue by region", default_audience="org",
        parameters=[{"name": "region", "type": "string", "label": "Region", "default": None,
                     "multiple": False, "required": False}],
    )
    Dashboard.create_with_first_page(
        project=project, owner=user, collection=ops, name="Support queue",
        description="Open tickets and response times", default_audience="private", parameters=[],
    )
    Dashboard.create_with_first_page(
        project=project, owner=user, collection=None, name="Company KPIs",
        description="The numbers everyone watches", default_audience="public", parameters=[],
    )
