"""Intuit OAuth 2.0 as the sandbox plays it: consent page, code exchange, expiry, rotation, revoke."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests
from qbo_support import Qbo, ServerFactory

from sandbox.quickbooks.state import SandboxState
from sandbox.quickbooks.tokens import s256

SCOPE = "com.intuit.quickbooks.accounting"
REDIRECT = "http://127.0.0.1:9/callback"


def _authorize_params(state: SandboxState, **overrides: str) -> dict[str, str]:
    params = {"client_id": state.config.client_id, "response_type": "code", "scope": SCOPE,
              "redirect_uri": REDIRECT, "state": "csrf-1"}
    return {**params, **overrides}


def _submit(base_url: str, page: str, decision: str) -> requests.Response:
    """Post the consent form the way a browser would: every hidden field plus the clicked button."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    fields["realm_id"] = re.search(r'<option value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    fields["decision"] = decision
    return requests.post(f"{base_url}/connect/oauth2", data=fields, allow_redirects=False, timeout=10)


def _callback(response: requests.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _token(base_url: str, state: SandboxState, form: dict[str, str], basic: bool = True) -> requests.Response:
    auth = (state.config.client_id, state.config.client_secret) if basic else None
    if not basic:
        form = {**form, "client_id": state.config.client_id, "client_secret": state.config.client_secret}
    return requests.post(f"{base_url}/oauth2/v1/tokens/bearer", data=form, auth=auth, timeout=10)


def _code(base_url: str, state: SandboxState) -> dict[str, str]:
    page = requests.get(f"{base_url}/connect/oauth2", params=_authorize_params(state), timeout=10).text
    return _callback(_submit(base_url, page, "allow"))


def test_authorize_page_shows_company_and_real_form(qbo: Qbo) -> None:
    response = requests.get(f"{qbo.base_url}/connect/oauth2", params=_authorize_params(qbo.state), timeout=10)
    assert response.status_code == 200
    assert qbo.state.default_realm.company_name in response.text
    assert '<button type="submit" name="decision" value="allow">Authorize</button>' in response.text
    assert 'value="deny">Deny</button>' in response.text
    assert '<form method="post"' in response.text


def test_allow_redirects_with_code_state_and_realm(qbo: Qbo) -> None:
    callback = _code(qbo.base_url, qbo.state)
    assert callback["state"] == "csrf-1"
    assert callback["realmId"] == qbo.realm_id
    assert callback["code"]


def test_deny_redirects_with_access_denied(qbo: Qbo) -> None:
    page = requests.get(f"{qbo.base_url}/connect/oauth2", params=_authorize_params(qbo.state), timeout=10).text
    assert _callback(_submit(qbo.base_url, page, "deny")) == {"error": "access_denied", "state": "csrf-1"}


def test_missing_accounting_scope_redirects_invalid_scope(qbo: Qbo) -> None:
    params = _authorize_params(qbo.state, scope="openid email")
    response = requests.get(f"{qbo.base_url}/connect/oauth2", params=params, allow_redirects=False, timeout=10)
    assert _callback(response) == {"error": "invalid_scope", "state": "csrf-1"}


def test_unknown_client_gets_error_page_not_redirect(qbo: Qbo) -> None:
    params = _authorize_params(qbo.state, client_id="someone-else")
    response = requests.get(f"{qbo.base_url}/connect/oauth2", params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_code_exchange_with_basic_auth_gives_working_tokens(qbo: Qbo) -> None:
    callback = _code(qbo.base_url, qbo.state)
    response = _token(qbo.base_url, qbo.state, {"grant_type": "authorization_code", "code": callback["code"],
                                                "redirect_uri": REDIRECT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert qbo.get("companyinfo/" + qbo.realm_id, token=body["access_token"]).status_code == 200


def test_code_exchange_with_form_credentials(qbo: Qbo) -> None:
    callback = _code(qbo.base_url, qbo.state)
    form = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT}
    assert _token(qbo.base_url, qbo.state, form, basic=False).status_code == 200


def test_code_is_single_use(qbo: Qbo) -> None:
    form = {"grant_type": "authorization_code", "code": _code(qbo.base_url, qbo.state)["code"], "redirect_uri": REDIRECT}
    assert _token(qbo.base_url, qbo.state, form).status_code == 200
    second = _token(qbo.base_url, qbo.state, form)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_reusing_a_code_revokes_the_tokens_it_gave_first(qbo: Qbo) -> None:
    """Intuit staff (intuit/oauth-jsclient#173): a second exchange of the same code
    invalidates the tokens issued for it."""
    form = {"grant_type": "authorization_code", "code": _code(qbo.base_url, qbo.state)["code"], "redirect_uri": REDIRECT}
    first = _token(qbo.base_url, qbo.state, form).json()
    assert qbo.get("preferences", token=first["access_token"]).status_code == 200
    assert _token(qbo.base_url, qbo.state, form).json()["error"] == "invalid_grant"
    assert qbo.get("preferences", token=first["access_token"]).status_code == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert _token(qbo.base_url, qbo.state, refresh).json()["error"] == "invalid_grant"


def test_code_requires_the_same_redirect_uri(qbo: Qbo) -> None:
    form = {"grant_type": "authorization_code", "code": _code(qbo.base_url, qbo.state)["code"],
            "redirect_uri": "http://127.0.0.1:9/other"}
    response = _token(qbo.base_url, qbo.state, form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def _pkce_code(qbo: Qbo, verifier: str, method: str = "S256") -> dict[str, str]:
    params = _authorize_params(qbo.state, code_challenge=s256(verifier), code_challenge_method=method)
    page = requests.get(f"{qbo.base_url}/connect/oauth2", params=params, timeout=10).text
    return _callback(_submit(qbo.base_url, page, "allow"))


def test_a_pkce_code_is_exchanged_only_with_its_verifier(qbo: Qbo) -> None:
    """RFC 7636: the code of a request with a challenge needs the matching verifier."""
    verifier = "v" * 43
    for sent in ({}, {"code_verifier": "w" * 43}):
        form = {"grant_type": "authorization_code", "code": _pkce_code(qbo, verifier)["code"],
                "redirect_uri": REDIRECT, **sent}
        refused = _token(qbo.base_url, qbo.state, form)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant"), sent
    form = {"grant_type": "authorization_code", "code": _pkce_code(qbo, verifier)["code"],
            "redirect_uri": REDIRECT, "code_verifier": verifier}
    assert _token(qbo.base_url, qbo.state, form).status_code == 200


def test_a_plain_pkce_challenge_is_refused(qbo: Qbo) -> None:
    assert _pkce_code(qbo, "v" * 43, method="plain") == {"error": "invalid_request", "state": "csrf-1"}


def test_bad_client_secret_is_invalid_client(qbo: Qbo) -> None:
    response = requests.post(f"{qbo.base_url}/oauth2/v1/tokens/bearer", auth=(qbo.state.config.client_id, "wrong"),
                             data={"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_old_value_dies_without_grace(qbo: Qbo) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
    first = _token(qbo.base_url, qbo.state, form)
    assert first.status_code == 200
    assert first.json()["refresh_token"] != qbo.refresh_token
    stale = _token(qbo.base_url, qbo.state, form)
    assert stale.status_code == 400
    assert stale.json() == {"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}
    newest = {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]}
    assert _token(qbo.base_url, qbo.state, newest).status_code == 200


def test_refresh_keeps_value_inside_rotation_interval(start_server: ServerFactory,
                                                      connect: Callable[..., Qbo]) -> None:
    base_url, state = start_server()
    qbo = connect(base_url, state)
    form = {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
    for _ in range(2):
        response = _token(base_url, state, form)
        assert response.json()["refresh_token"] == qbo.refresh_token


def test_refresh_expiry_shrinks_between_rotations(start_server: ServerFactory,
                                                  connect: Callable[..., Qbo]) -> None:
    """A live report: inside the rotation window the value stays and x_refresh_token_expires_in
    shrinks (8,721,385 after 8,726,400); a refresh does not restore the ~101 days."""
    base_url, state = start_server()
    qbo = connect(base_url, state)
    form = {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
    first = _token(base_url, state, form).json()["x_refresh_token_expires_in"]
    time.sleep(1.1)
    second = _token(base_url, state, form).json()
    assert second["refresh_token"] == qbo.refresh_token
    assert second["x_refresh_token_expires_in"] < first <= 8_726_400


def test_a_rolling_expiry_is_a_switch(start_server: ServerFactory, connect: Callable[..., Qbo]) -> None:
    base_url, state = start_server(refresh_extends_expiry=True)
    qbo = connect(base_url, state)
    time.sleep(1.1)
    form = {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
    assert _token(base_url, state, form).json()["x_refresh_token_expires_in"] == 8_726_400


def test_rotated_value_usable_during_grace_then_invalid(start_server: ServerFactory,
                                                        connect: Callable[..., Qbo]) -> None:
    base_url, state = start_server(refresh_rotation_interval=0, refresh_grace=0.4)
    qbo = connect(base_url, state)
    form = {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token}
    rotated = _token(base_url, state, form).json()["refresh_token"]
    assert rotated != qbo.refresh_token
    within_grace = _token(base_url, state, form)
    assert within_grace.status_code == 200
    assert within_grace.json()["refresh_token"] != qbo.refresh_token
    time.sleep(0.5)
    assert _token(base_url, state, form).json()["error"] == "invalid_grant"


def test_access_token_expires(start_server: ServerFactory, connect: Callable[..., Qbo]) -> None:
    base_url, state = start_server(access_token_ttl=0.3)
    qbo = connect(base_url, state)
    assert qbo.get("preferences").status_code == 200
    time.sleep(0.4)
    expired = qbo.get("preferences")
    assert expired.status_code == 401
    assert expired.json()["fault"]["error"][0]["detail"].startswith("Token expired")


def test_revoke_ends_access_and_refresh(qbo: Qbo) -> None:
    response = requests.post(f"{qbo.base_url}/oauth2/v1/tokens/revoke", json={"token": qbo.refresh_token},
                             auth=(qbo.state.config.client_id, qbo.state.config.client_secret), timeout=10)
    assert response.status_code == 200
    assert qbo.get("preferences").status_code == 401
    refresh = _token(qbo.base_url, qbo.state, {"grant_type": "refresh_token", "refresh_token": qbo.refresh_token})
    assert refresh.json()["error"] == "invalid_grant"


def test_revoke_needs_client_credentials(qbo: Qbo) -> None:
    response = requests.post(f"{qbo.base_url}/oauth2/v1/tokens/revoke", json={"token": qbo.refresh_token}, timeout=10)
    assert response.status_code == 401
    assert qbo.get("preferences").status_code == 200


def test_missing_or_bad_token_gets_lowercase_401_envelope(qbo: Qbo) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = requests.get(qbo.url("preferences"), headers={"Accept": "application/json", **headers}, timeout=10)
        assert response.status_code == 401
        body = response.json()
        assert body["fault"]["type"] == "AUTHENTICATION"
        error = body["fault"]["error"][0]
        assert error["code"] == "3200"
        assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
        assert error["element"] is None
        assert body["batchItemResponse"] == [] and body["queryResponse"] is None
        assert isinstance(body["time"], int)


def test_token_for_another_realm_gets_403_3100(qbo: Qbo) -> None:
    other = qbo.control("realms", {"company_name": "Second Co"})["realm_id"]
    response = requests.get(qbo.url("preferences", realm_id=other), headers=qbo.headers(), timeout=10)
    assert response.status_code == 403
    error = response.json()["fault"]["error"][0]
    assert error["code"] == "3100"
    assert "ApplicationAuthorizationFailed" in error["message"]


def test_consent_can_pick_another_company(qbo: Qbo) -> None:
    other = qbo.control("realms", {"company_name": "Second Co"})["realm_id"]
    page = requests.get(f"{qbo.base_url}/connect/oauth2", params=_authorize_params(qbo.state), timeout=10).text
    assert "Second Co" in page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    response = requests.post(f"{qbo.base_url}/connect/oauth2", data={**fields, "realm_id": other, "decision": "allow"},
                             allow_redirects=False, timeout=10)
    assert _callback(response)["realmId"] == other


def test_discovery_document_points_at_sandbox(qbo: Qbo) -> None:
    doc = requests.get(f"{qbo.base_url}/.well-known/openid_configuration", timeout=10).json()
    assert doc["token_endpoint"] == f"{qbo.base_url}/oauth2/v1/tokens/bearer"
    assert doc["authorization_endpoint"] == f"{qbo.base_url}/connect/oauth2"
