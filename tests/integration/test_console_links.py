"""Every link on the console's home and inbox leads somewhere (a merged console once had two 404s)."""

from __future__ import annotations

import re

import pytest

from stamp_service.domain.access import Role
from tests.people_support import make_person, sign_in


@pytest.mark.parametrize("path", ["/console/", "/console/inbox/"])
def test_every_link_of_the_office_pages_answers(client, session, path):
    make_person(session, Role.ADMIN, name="vp-links", province_code="42")
    assert sign_in(client, "vp-links").status_code == 302
    page = client.get(path)
    assert page.status_code == 200
    links = {h.split("#")[0] for h in re.findall(r'href="(/[^"]*)"', page.get_data(as_text=True))}
    links.discard("")
    assert links
    for link in sorted(links):
        if link.startswith(("/static/", "/favicon")):
            continue
        answer = client.get(link, follow_redirects=True)
        assert answer.status_code == 200, (path, link, answer.status_code)
