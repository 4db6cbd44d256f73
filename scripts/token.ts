// Prints a JWT for a user, signed with the server's HS256 secret (embedded mode's
// generated one, or PARLEY_JWT_SECRET). Usage: npm run token -- <userId> [name] [--ttl 24h]
import { SignJWT } from 'jose';
import { loadConfig } from '../src/config.ts';
import { isUserId } from '../src/domain/ids.ts';
import { withEmbeddedSecret } from '../src/secrets.ts';

const args = process.argv.slice(2);
const ttlAt = args.indexOf('--ttl');
const ttl = ttlAt >= 0 ? args.splice(ttlAt, 2)[1] : '24h';
const [userId, name] = args;
if (!isUserId(userId)) {
  console.error('Usage: npm run token -- <userId> [name] [--ttl 24h]   (userId: letters, digits, ._@:|+=-)');
  process.exit(2);
}
const config = withEmbeddedSecret(loadConfig());
if (!config.jwt.secret) {
  console.error('No HS256 secret: set PARLEY_JWT_SECRET (or run in embedded mode without a JWKS URL).');
  process.exit(2);
}
let jwt = new SignJWT(name ? { name } : {}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime(ttl ?? '24h');
if (config.jwt.issuer) jwt = jwt.setIssuer(config.jwt.issuer);
if (config.jwt.audience) jwt = jwt.setAudience(config.jwt.audience);
console.log(await jwt.sign(new TextEncoder().encode(config.jwt.secret)));
