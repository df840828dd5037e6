"""The site's icon: named by every page and found at /favicon.ico, where browsers look first."""

from django.contrib.staticfiles import finders


def test_favicon_ico_leads_to_an_icon_that_ships_with_the_static_files(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    path = response["Location"].removeprefix("/static/")
    assert path == "img/favicon.ico"
    assert finders.find(path) is not None


def test_every_page_names_its_icon(client, db):
    html = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/img/favicon.svg"' in html
    assert finders.find("img/favicon.svg") is not None
