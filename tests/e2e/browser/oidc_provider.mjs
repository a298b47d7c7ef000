// A real OpenID Connect provider (the npm package oidc-provider) for the sign-in tests: the
// district's identity service as the portal meets it. Started by tests/support/oidc.py:
//
//   node oidc_provider.mjs '{"port": 4011, "clients": [...], "accounts": {"login": {claims}}}'
//
// Its development sign-in form takes any login (the password is not checked) and signs in the
// account of that login, whose claims (name, phone_number, id_number) come from "accounts".
// It prints "ready" once it listens.
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts || {};

const provider = new Provider(issuer, {
  clients: config.clients,
  claims: { openid: ["sub"], profile: ["name"], phone: ["phone_number", "phone_number_verified"],
            identity: ["id_number"] },
  scopes: ["openid", "profile", "phone", "identity"],
  conformIdTokenClaims: false,        // the ID token carries the claims the scopes grant
  pkce: { required: () => true },
  cookies: { keys: ["suite-test-cookie-key-not-a-secret"] },
  features: { devInteractions: { enabled: true } },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Session: 600, Interaction: 600, Grant: 600 },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id, ...(accounts[id] || {}) }; } };
  },
});
provider.listen(config.port, "127.0.0.1", () => console.log("ready"));
