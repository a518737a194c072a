/**
 * JWT bearer tokens from an identity provider, verified with `jose` against the provider's JWKS (fetched from
 * `jwksUrl`, cached and refreshed by `jose` when an unknown `kid` appears).
 *
 * Scopes come from the OAuth 2.0 `scope` claim (space-separated, RFC 8693 §4.2) or `scp` (a list or a string, as
 * Azure AD and Okta send it); values other than Stepwise's scopes are ignored. The principal's key id is
 * `jwt:<sub>`; with `userClaim`, that claim's value binds the token to one user.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { type Principal, Scope } from './keys.js';

/** JWT verification settings (`STEPWISE_JWT_*`). */
export interface JwtOptions {
  /** JWKS endpoint of the identity provider, e.g. `https://idp.example/.well-known/jwks.json`. */
  jwksUrl: string;
  /** Required `iss` claim. Default: not checked. */
  issuer?: string;
  /**
   * Required `aud` claim (the token's `aud`, a string or a list, must contain it). Required: without an audience
   * check, a token the identity provider issued for any other application of the team would be accepted.
   * {@link ANY_AUDIENCE} (`*`, from `STEPWISE_JWT_AUDIENCE=*`) is the explicit opt-out: `aud` is not checked.
   */
  audience: string;
  /** Claim whose string value binds the token to a user (e.g. `sub`). Default: tokens are not bound. */
  userClaim?: string;
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. Default 30. */
  clockToleranceSec?: number;
}

/** `STEPWISE_JWT_AUDIENCE=*`: accept tokens whatever their `aud` (a deliberate opt-out, logged at startup). */
export const ANY_AUDIENCE = '*';

/** Why a token was refused, for the log (never sent to the caller). */
export type JwtRejection = { reason: string };

function scopesOf(payload: JWTPayload): Scope[] {
  const raw = [payload.scope, payload.scp].flatMap((v) =>
    typeof v === 'string' ? v.split(' ') : Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [],
  );
  return [...new Set(raw.filter((s): s is Scope => Scope.safeParse(s).success))];
}

/**
 * Returns a verifier: a principal for a valid token (signature from the JWKS, `exp`/`nbf`, the audience unless it is
 * {@link ANY_AUDIENCE}, the issuer when configured), else a rejection. Never throws: an unreachable JWKS is a rejection too (logged by the caller).
 */
export function jwtVerifier(options: JwtOptions): (token: string) => Promise<Principal | JwtRejection> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience !== ANY_AUDIENCE ? { audience: options.audience } : {}),
        clockTolerance: options.clockToleranceSec ?? 30,
      });
      const user = options.userClaim ? payload[options.userClaim] : undefined;
      if (options.userClaim && (typeof user !== 'string' || user.length === 0 || user.length > 128)) {
        return { reason: `claim ${options.userClaim} missing or not a string of 1-128 characters` };
      }
      return {
        keyId: `jwt:${payload.sub ?? 'unknown'}`,
        scopes: scopesOf(payload),
        ...(typeof user === 'string' ? { userId: user } : {}),
      };
    } catch (err) {
      return { reason: `${(err as { code?: string }).code ?? 'ERR_JWT'}: ${(err as Error).message}` };
    }
  };
}

/** The secret and claims of tokens issued by NOMOS's `POST /auth/token` (`STEPWISE_NOMOS_TOKEN_*`). */
export interface NomosTokenVerifyOptions {
  /** HS256 secret the tokens are signed with. */
  secret: string;
  /** Required `iss` claim. Default: not checked (the endpoint sets none). */
  issuer?: string;
  /** Required `aud` claim. Default: not checked. */
  audience?: string;
}

/**
 * Returns a verifier of the API's own NOMOS tokens: HS256 only, signed with `secret`, `exp` checked (30 s skew),
 * `iss`/`aud` when configured (as the endpoint sets them). Scopes as for JWKS tokens. A token with a `sub` is bound to
 * user `sub` (the endpoint forces a bound caller's own user id there); one without is unbound. Never throws.
 */
export function nomosTokenVerifier(options: NomosTokenVerifyOptions): (token: string) => Promise<Principal | JwtRejection> {
  const key = new TextEncoder().encode(options.secret);
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
        clockTolerance: 30,
      });
      const sub = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : undefined;
      if (sub !== undefined && sub.length > 128) return { reason: 'sub longer than 128 characters' };
      return { keyId: `nomos:${sub ?? 'unbound'}`, scopes: scopesOf(payload), ...(sub ? { userId: sub } : {}) };
    } catch (err) {
      return { reason: `${(err as { code?: string }).code ?? 'ERR_JWT'}: ${(err as Error).message}` };
    }
  };
}

/** Whether `token`'s protected header names HS256 (a NOMOS token rather than an identity provider's). */
export function isHs256(token: string): boolean {
  try {
    return decodeProtectedHeader(token).alg === 'HS256';
  } catch {
    return false;
  }
}

/** Whether `token` has the shape of a JWS compact serialization (three dot-separated base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}
