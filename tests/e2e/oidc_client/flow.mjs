// Runs the authorization code flow with PKCE against hydralite using openid-client v6, a
// certified OpenID Connect relying party: discovery, its own ID token validation, refresh and
// userinfo. The browser part is done by following redirects and answering login and consent
// through hydralite's admin API, as a login/consent app would.
// With a sixth argument `hybrid` it runs the hybrid flow (response_type "code id_token", OIDC Core §3.3):
// openid-client validates the front-channel ID token (signature, nonce, c_hash) before it redeems the code.
// Usage: node flow.mjs <issuer> <client_id> <client_secret> <redirect_uri> <admin_url> [hybrid]
import * as client from 'openid-client'

const [issuer, clientId, clientSecret, redirectUri, adminUrl, mode] = process.argv.slice(2)
const hybrid = mode === 'hybrid'
const jar = new Map()

async function browse(url) {
  const headers = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }
  const response = await fetch(url, { redirect: 'manual', headers })
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';')
    const index = pair.indexOf('=')
    jar.set(pair.slice(0, index), pair.slice(index + 1))
  }
  return response
}

async function admin(method, path, body) {
  const response = await fetch(adminUrl + path, {
    method, headers: { 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.json()
}

const config = await client.discovery(new URL(issuer), clientId, undefined,
  client.ClientSecretBasic(clientSecret), { execute: [client.allowInsecureRequests] })
if (hybrid) client.useCodeIdTokenResponseType(config)
const codeVerifier = client.randomPKCECodeVerifier()
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
const state = client.randomState()
const nonce = client.randomNonce()
const authUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid offline_access', code_challenge: codeChallenge,
  code_challenge_method: 'S256', state, nonce,
})

let response = await browse(authUrl.href)
const loginChallenge = new URL(response.headers.get('location')).searchParams.get('login_challenge')
let answer = await admin('PUT', `/admin/oauth2/auth/requests/login/accept?login_challenge=${loginChallenge}`,
  { subject: 'foo@bar.com', remember: false })
response = await browse(answer.redirect_to)
const consentChallenge = new URL(response.headers.get('location')).searchParams.get('consent_challenge')
const consent = await admin('GET', `/admin/oauth2/auth/requests/consent?consent_challenge=${consentChallenge}`)
answer = await admin('PUT', `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${consentChallenge}`,
  { grant_scope: consent.requested_scope, session: { id_token: { email: 'foo@bar.com' } } })
response = await browse(answer.redirect_to)
const callback = new URL(response.headers.get('location'))
const checks = { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true }

// Hybrid: a code swapped in the fragment must fail openid-client's c_hash check (so the check really ran).
let swappedCode = null
if (hybrid) {
  const swapped = new URL(callback)
  const fragment = new URLSearchParams(swapped.hash.slice(1))
  fragment.set('code', fragment.get('code') + 'x')
  swapped.hash = fragment.toString()
  swappedCode = await client.authorizationCodeGrant(config, swapped, checks).then(() => 'accepted',
    (error) => `${error.message}: ${error.cause?.message ?? ''} (claim ${error.cause?.cause?.claim})`)
}
const tokens = await client.authorizationCodeGrant(config, callback, checks)
const claims = tokens.claims()
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
const userinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub)
console.log(JSON.stringify({
  sub: claims.sub, email: claims.email, nonce: claims.nonce === nonce, refreshed: Boolean(refreshed.access_token),
  rotated: refreshed.refresh_token !== tokens.refresh_token, userinfo,
  mode: hybrid ? 'hybrid' : 'code', responseType: authUrl.searchParams.get('response_type'),
  inFragment: Boolean(callback.hash) && !callback.searchParams.has('code'), swappedCode,
}))
