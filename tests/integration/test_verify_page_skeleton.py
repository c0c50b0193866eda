"""The QR page is joined from a per-lot skeleton (web.public.stamp_html): it must equal the page the
template renders in full for the same verdict, in every situation the skeleton's key tells apart."""

from __future__ import annotations

import pytest

from stamp_service.services import public_guard, verification
from stamp_service.web import public
from tests import verify_support as vs
from tests.stamp_factories import ensure_keyring, make_issued_batch

SITUATIONS = ("genuine", "many_scans", "stars_changed", "copied", *vs.REVOKE_CAUSES)


@pytest.fixture()
def settings(settings):
    return vs.verify_settings(settings, clone_max_scans=3)


@pytest.fixture()
def batch(session, settings):
    keyring = ensure_keyring(session, settings.keys_dir)
    b = make_issued_batch(session, keyring, n=3, with_pin=True)
    vs.add_events(session, b, 3)
    return b


def _set_up(situation: str, client, session, batch) -> None:
    if situation == "many_scans":  # a scan line, and the clone warning past three clients
        for n in range(5):
            client.get(vs.path_of(batch.urls[0]), headers={"X-Forwarded-For": f"100.64.0.{n}"})
    elif situation == "stars_changed":
        vs.reduce_stars(session, batch, 3)
    elif situation == "copied":
        vs.void(session, batch, seq=1, reason_code="copied")
    elif situation != "genuine":
        vs.revoke(session, batch, situation)


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("situation", SITUATIONS)
def test_skeleton_page_equals_the_fully_rendered_page(
    app, client, session, batch, monkeypatch, situation, lang
):
    monkeypatch.setattr(
        public_guard, "form_token", lambda _k, purpose, subject, now=None: f"t.{purpose}{subject}"
    )
    _set_up(situation, client, session, batch)
    token = vs.path_of(batch.urls[0]).rsplit("/", 1)[1]
    with app.test_request_context(f"/V/{token}"):
        env = public.verify_env()
        result = verification.verify_code(session, env, token, lang=lang)
        assert result.known
        full = public.render_page(lang, result=result, here=f"/V/{token.upper()}", switch_args={})
        joined = public.stamp_html(env, lang, result, token)
        again = public.stamp_html(env, lang, result, token)  # from the cached skeleton
    assert joined == again == full.get_data(as_text=True)
    assert "\x00" not in joined
