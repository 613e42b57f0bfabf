"""RFC 7523 §2.1 jwt-bearer grant: an authenticated client exchanges a JWT from a trusted issuer for an access token.

fosite's handler/rfc7523 in its order: the assertion is parsed, `iss` and `sub` pick the trust relationship (and its
key, by `kid` when the header names one, else every live key of the issuer is tried), the signature is checked, then
`aud`, `exp`, `nbf`, `iat`, the lifetime, the `jti`, and the requested scopes against the relationship's. The token
carries the assertion's subject; no refresh or ID token is issued.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from hydralite.engine import access_tokens, audience, scopes, token_hook, trust
from hydralite.engine.client_assertion import (
    MAX_ASSERTION_LENGTH,
    MalformedJWT,
    decode_unverified,
    jti_signature,
    token_urls,
)
from hydralite.engine.core import Engine, expiry, now, request_id
from hydralite.engine.forms import Form, single
from hydralite.errors import InvalidGrant, InvalidRequest, InvalidScope, OAuthError
from hydralite.models import Client, NewToken, TokenResponse

_IN = 'in "assertion" request parameter'
_PARSE = f'Unable to parse JSON Web Token passed {_IN}.'
_NO_CLAIMS = f'Looks like there are no claims in JWT {_IN}.'
_SHOWN = 128  # how much of an untrusted iss/sub an error repeats
_EARLIEST, _LATEST = 0, 253402300799  # 1970-01-01 .. 9999-12-31T23:59:59Z

JtiKnown = type("JtiKnown", (OAuthError,), {"error": "jti_known", "status_code": 400,
                                              "description": "The jti was already used."})


def _must(claim: str, name: str, article: str = "an") -> OAuthError:
    return InvalidGrant(f'The JWT {_IN} MUST contain {article} "{claim}" ({name}) claim.')


def _claim_types_ok(claims: dict[str, Any]) -> bool:
    """go-jose's jwt.Claims decoding: string iss/sub/jti, string or string-list aud, numeric times."""
    for name in ("iss", "sub", "jti"):
        if claims.get(name) is not None and not isinstance(claims[name], str):
            return False
    aud = claims.get("aud")
    if aud is not None and not isinstance(aud, str) and not (
            isinstance(aud, list) and all(isinstance(a, str) for a in aud)):
        return False
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return False
    return True


class JwtBearer:
    grant_type = trust.GRANT_TYPE
    parameters = frozenset({"assertion", "scope", "audience"})

    async def exchange(self, engine: Engine, client: Client, form: Form) -> TokenResponse:
        assertion = single(form, "assertion")
        if not assertion:
            raise InvalidRequest(f"The assertion request parameter must be set when using grant_type of "
                                 f"'{trust.GRANT_TYPE}'.")
        requested = scopes.parse(single(form, "scope"))
        claims, granted_by = await self._verified(engine, assertion)
        issuer, subject = claims["iss"], claims["sub"]
        # fosite: every requested scope must be allowed by the relationship (Hydra does not check the client's).
        for scope in requested:
            if not engine.scopes.match(granted_by, scope):
                raise InvalidScope(f'The public key registered for issuer "{issuer[:_SHOWN]}" and subject '
                                   f'"{subject[:_SHOWN]}" is not allowed to request scope "{scope}".')
        jti = claims.get("jti")
        if jti and not await engine.repo.spend_jti(jti_signature(issuer, jti),
                                                   _moment(claims["exp"])):
            raise JtiKnown()
        granted = list(requested)
        if not granted and engine.config.default_grant_allowed_scope:
            granted = client.scopes  # Hydra's shared client_credentials/jwt-bearer block
        token_audience = [] if engine.config.jwt_grant_omit_assertion_audience else _audiences(claims)
        for wanted in audience.parse(form.get("audience", [])):
            # Hydra grants a requested audience only when the client may use it, silently dropping the rest.
            try:
                audience.check_allowed(client.audience, [wanted])
            except OAuthError:
                continue
            if wanted not in token_audience:
                token_audience.append(wanted)

        hooked = await token_hook.apply(engine, client, form, subject, granted, token_audience, {}, requested=requested)
        issued = now()
        lifespan = engine.lifespan(client, "jwt_bearer_grant_access_token_lifespan", engine.config.ttl_access_token)
        expires_at = expiry(issued, lifespan)
        # The client's access token strategy (opaque or JWT) applies, as Hydra's token handler has it for this grant.
        token, signature = await access_tokens.mint(engine, client, subject, granted, token_audience, issued,
                                                    expires_at, hooked.get("access_token") or {})
        await engine.repo.insert_access_token(NewToken(
            signature=signature, request_id=request_id(), client_id=client.id, subject=subject, scope=granted,
            audience=token_audience, requested_at=issued, expires_at=expires_at, session=engine.seal(hooked)))
        return TokenResponse(access_token=token, expires_in=round(lifespan), scope=" ".join(granted))

    async def _verified(self, engine: Engine, assertion: str) -> tuple[dict[str, Any], list[str]]:
        """The verified claims and the scopes of the relationship whose key verified them."""
        if len(assertion) > MAX_ASSERTION_LENGTH:  # hydralite's bound; fosite parses whatever fits in the form
            raise InvalidGrant(_PARSE, debug="the assertion is too long")
        try:
            header, unverified = decode_unverified(assertion)
        except MalformedJWT as exc:
            raise InvalidGrant(_PARSE, debug=str(exc)) from exc
        if not _claim_types_ok(unverified):
            raise InvalidGrant(_NO_CLAIMS)
        issuer, subject = unverified.get("iss") or "", unverified.get("sub") or ""
        if not issuer:
            raise _must("iss", "issuer")
        if not subject:
            raise _must("sub", "subject", "a")
        kid = header.get("kid") if isinstance(header.get("kid"), str) and header.get("kid") else None
        no_key = InvalidGrant(f'No public JWK was registered for issuer "{issuer[:_SHOWN]}" and subject '
                              f'"{subject[:_SHOWN]}", and public key is required to check signature of JWT {_IN}.')
        rows = await trust.trusted_keys(engine, issuer, subject, kid)
        if not rows:
            raise no_key
        claims = None
        if kid is not None:
            row = rows[0]
            claims = trust.verify_with(assertion, row["jwk"], header.get("alg"))
            if claims is None:
                raise InvalidGrant("Unable to verify the integrity of the 'assertion' value.")
        else:
            for row in rows:
                if (claims := trust.verify_with(assertion, row["jwk"], header.get("alg"))) is not None:
                    break
            if claims is None:
                raise no_key
        if claims != unverified:  # a JWS JSON payload decodes once; this only guards a parser disagreement
            raise InvalidGrant(_NO_CLAIMS)
        _check_claims(engine, claims)
        return claims, list(row["scope"])


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else list(aud or [])


def _moment(seconds: float) -> datetime:
    """A NumericDate as a datetime, clamped to what datetime holds (claims may carry absurd numbers)."""
    return datetime.fromtimestamp(min(max(int(seconds), _EARLIEST), _LATEST), UTC)


def _rfc3339(seconds: float) -> str:
    return _moment(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_claims(engine: Engine, claims: dict[str, Any]) -> None:
    """fosite's validateTokenClaims: times are whole seconds (go-jose NumericDate), no leeway."""
    config, current = engine.config, time.time()
    audiences = _audiences(claims)
    if not audiences:
        raise _must("aud", "audience")
    urls = token_urls(config)
    if not any(url in audiences for url in urls):
        raise InvalidGrant(f'The JWT {_IN} MUST contain an "aud" (audience) claim containing a value "'
                           + '" or "'.join(urls) + '" that identifies the authorization server as an intended '
                           "audience.")
    if claims.get("exp") is None:
        raise _must("exp", "expiration time")
    exp = int(claims["exp"])
    if exp < current:
        raise InvalidGrant(f'The JWT {_IN} expired.')
    if claims.get("nbf") is not None and not int(claims["nbf"]) < current:
        raise InvalidGrant(f'The JWT {_IN} contains an "nbf" (not before) claim, that identifies the time '
                           f"'{_rfc3339(claims['nbf'])}' before which the token MUST NOT be accepted.")
    if claims.get("iat") is None and not config.jwt_grant_iat_optional:
        raise _must("iat", "issued at")
    issued = int(claims["iat"]) if claims.get("iat") is not None else current
    if exp - issued > config.jwt_grant_max_ttl:
        raise InvalidGrant(f'The JWT {_IN} contains an "exp" (expiration time) claim with value "{_rfc3339(exp)}" '
                           f'that is unreasonably far in the future, considering token issued at '
                           f'"{_rfc3339(issued)}".')
    if not claims.get("jti") and not config.jwt_grant_jti_optional:
        raise _must("jti", "JWT ID")
