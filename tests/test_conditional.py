"""Conditional reads: every GET of something with a version answers its ETag, and 304 Not
Modified, without a body, while If-None-Match names it (RFC 9110: a list, `*`, weak comparison)."""

import pytest

from tests.conftest import problem
from tests.test_operations import sample

COLUMNS = [{"name": "region", "type": "string"}, {"name": "amount", "type": "number"}]


@pytest.fixture
def things(world):
    """An editor's dashboard (a card, a second page, a grant) and dataset (two rows): for each
    versioned read, its path, the path of what holds its version, and a change of that version."""
    org = world.org()
    _, client = world.user(org=org, role="editor")
    viewer, _ = world.user(org=org)
    dataset = client.post(
        "/datasets", json={"name": "Sales", "columns": COLUMNS, "rows": [["EMEA", 1], ["APAC", 2]]}
    ).json()
    dashboard = client.post("/dashboards", json={"name": "Sales"}).json()
    at = f"/dashboards/{dashboard['id']}"
    card = client.post(f"{at}/cards", json={"card_type": "text", "config": {"markdown": "# Hi"}}).json()
    client.post(f"{at}/pages", json={"name": "Two"})
    client.post(f"{at}/shares", json={"subject_type": "user", "subject_id": viewer.id, "access_level": "viewer"})
    change_dashboard = lambda: client.patch(f"{at}/cards/{card['id']}", json={"config": {"markdown": "# Changed"}})
    change_dataset = lambda: client.post(f"/datasets/{dataset['id']}/rows", json={"rows": [["AMER", 3]]})
    on_dataset = f"/datasets/{dataset['id']}"
    return client, {
        "dashboard": (at, at, change_dashboard),
        "card": (f"{at}/cards/{card['id']}", at, change_dashboard),
        "page": (f"{at}/pages/2", at, change_dashboard),
        "shares": (f"{at}/shares", at, change_dashboard),
        "dataset": (on_dataset, on_dataset, change_dataset),
        "rows": (f"{on_dataset}/rows", on_dataset, change_dataset),
    }


READS = ["dashboard", "card", "page", "shares", "dataset", "rows"]


def not_modified(response, tag):
    """A 304 as RFC 9110 has it: no body, and the headers the 200 would carry repeated."""
    assert response.status_code == 304, response.text
    assert response.headers["etag"] == tag and not response.content
    assert "content-type" not in response.headers
    assert response.headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize("read", READS)
def test_the_current_tag_answers_304_and_a_change_answers_200(things, read):
    client, paths = things
    path, holder, change = paths[read]
    first = client.get(path)
    assert first.status_code == 200 and first.json()
    tag = first.headers["etag"]
    version = client.get(holder).json()["version"]
    assert tag == f'"{version}"'  # the dashboard's or the dataset's version
    not_modified(client.get(path, headers={"If-None-Match": tag}), tag)

    assert change().status_code == 200
    after = client.get(path, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] == f'"{version + 1}"'
    assert after.json() == client.get(path).json()
    not_modified(client.get(path, headers={"If-None-Match": after.headers["etag"]}), after.headers["etag"])


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    "header,matches",
    [
        ('"{v}"', True),
        ('W/"{v}"', True),  # If-None-Match compares weakly
        ('"999", "{v}"', True),
        ('"999",W/"{v}" , "1000"', True),
        ("*", True),
        (" * ", True),
        ('"999"', False),
        ("{v}", False),  # not quoted: not an entity tag
        ('"{v}', False),  # unterminated
        ('"{v}, 999"', False),  # one opaque tag holding a comma
        ('w/"{v}"', False),  # the weak marker is case-sensitive
        ("", False),
    ],
)
def test_if_none_match_is_a_list_of_tags_compared_weakly(things, read, header, matches):
    client, paths = things
    path, _, _ = paths[read]
    tag = client.get(path).headers["etag"]
    response = client.get(path, headers={"If-None-Match": header.format(v=tag.strip('"'))})
    if matches:
        not_modified(response, tag)
    else:
        assert response.status_code == 200 and response.headers["etag"] == tag and response.json()


def test_what_does_not_exist_or_cannot_be_seen_is_404_whatever_the_tag(things, world):
    client, paths = things
    dashboard_path = paths["dashboard"][0]
    any_tag = {"If-None-Match": "*"}
    problem(client.get(f"{dashboard_path}/cards/999999", headers=any_tag), 404, "card_not_found")
    problem(client.get(f"{dashboard_path}/pages/9", headers=any_tag), 404, "page_not_found")
    problem(client.get("/dashboards/999999", headers=any_tag), 404, "dashboard_not_found")
    problem(client.get("/datasets/999999/rows", headers=any_tag), 404, "dataset_not_found")
    stranger = world.user(role="editor")[1]
    for read in READS:
        assert stranger.get(paths[read][0], headers=any_tag).status_code == 404, read


def test_a_304_of_the_dashboard_reads_nothing_from_the_answer_cache(things, world):
    """The check comes before the kept answer is looked up or built."""
    client, paths = things
    path = paths["dashboard"][0]
    tag = client.get(path).headers["etag"]
    lookups = lambda: sum(
        sample(
            world.anonymous().get("/metrics").text,
            "dashboards_api_render_cache_total",
            cache="dashboard",
            result=result,
        )
        for result in ("hit", "miss")
    )
    before = lookups()
    not_modified(client.get(path, headers={"If-None-Match": tag}), tag)
    assert lookups() == before
    assert client.get(path).status_code == 200 and lookups() == before + 1


def test_the_render_compares_its_weak_tag_weakly_in_a_list(things):
    client, paths = things
    path, _, change = paths["dashboard"]
    tag = client.get(f"{path}/render").headers["etag"]
    assert tag.startswith('W/"')
    strong_form = tag.removeprefix("W/")
    not_modified(client.get(f"{path}/render", headers={"If-None-Match": f'"other", {strong_form}'}), tag)
    not_modified(client.get(f"{path}/render", headers={"If-None-Match": "*"}), tag)
    assert change().status_code == 200
    assert client.get(f"{path}/render", headers={"If-None-Match": tag}).status_code == 200


def test_if_match_still_compares_strongly(things):
    """The same tag parser reads If-Match: weak and malformed tags match nothing there (412)."""
    client, paths = things
    path = paths["dashboard"][0]
    tag = client.get(path).headers["etag"]
    version = tag.strip('"')
    for stale in (f'W/"{version}"', version, f'"{version}, 1"'):
        problem(client.patch(path, json={"name": "x"}, headers={"If-Match": stale}), 412, "precondition_failed")
    assert client.patch(path, json={"name": "x"}, headers={"If-Match": f'"1",{tag}'}).status_code == 200
