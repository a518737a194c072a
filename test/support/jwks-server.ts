/**
 * A real identity provider stand-in for JWT tests: an HTTP server on 127.0.0.1 serving a JWKS (RS256 keys made with
 * `jose`), and a signer for tokens with any claims, expiry or key. Close it after the test.
 */
import { createServer, type Server } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface JwksServer {
  /** `http://127.0.0.1:<port>/.well-known/jwks.json` */
  jwksUrl: string;
  issuer: string;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  /** A signed RS256 token. Default: issuer {@link JwksServer.issuer}, 5 min expiry, the published key. */
  sign(claims: JWTPayload, opts?: { expiresIn?: string | number; issuer?: string; unpublishedKey?: boolean }): Promise<string>;
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  const published = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(published.publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const issuer = `http://127.0.0.1:${port}/`;
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    issuer,
    fetches: () => fetches,
    async sign(claims, opts = {}) {
      const key: CryptoKey = opts.unpublishedKey ? other.privateKey : published.privateKey;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1' })
        .setIssuer(opts.issuer ?? issuer)
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '5m')
        .sign(key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
