// A small HTTP service that reads a flag and a config value per request, evaluated locally by the
// Flagstream SDK, and logs every change as it arrives. See README.md.
import http from 'node:http';
import { FileSnapshotCache, FlagstreamClient } from '@flagstream/sdk';

const sdkKey = process.env.FLAGSTREAM_SDK_KEY;
if (!sdkKey) {
  console.error('set FLAGSTREAM_SDK_KEY to a server SDK key (fs_server_…)');
  process.exit(2);
}

const flags = new FlagstreamClient({
  sdkKey,
  baseUrl: process.env.FLAGSTREAM_URL ?? 'http://localhost:4001',
  // The last state survives restarts: the service starts with its flags even if the gateway is down.
  cache: new FileSnapshotCache(process.env.FLAGSTREAM_CACHE ?? '.flagstream-cache.json'),
});

flags.on('change', (keys) => console.log(`flags changed: ${keys.join(', ')} (revision ${flags.revision})`));
flags.on('configChange', (keys) => console.log(`config changed: ${keys.join(', ')} (revision ${flags.revision})`));
flags.on('error', (error, fatal) => console.error(`flagstream ${fatal ? 'stopped' : 'warning'}: ${error.message}`));

try {
  await flags.ready(5000);
} catch (error) {
  // Not fatal for the service: getters answer with their defaults until the state arrives.
  console.error(`starting without flags: ${error.message}`);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/') {
    res.writeHead(404).end();
    return;
  }
  // The evaluation context: who is asking. Getters never throw and never touch the network.
  const context = {
    targetingKey: url.searchParams.get('user') ?? 'anonymous',
    country: url.searchParams.get('country') ?? undefined,
    tenantId: url.searchParams.get('tenant') ?? undefined,
  };
  const checkout = flags.booleanDetail('new-checkout', context, false);
  const limits = flags.config('checkout.limits', context, { maxItems: 10 });
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ newCheckout: checkout.value, reason: checkout.reason, limits, revision: flags.revision }));
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

async function shutdown() {
  server.close();
  await flags.close(); // saves the cache; the process then exits by itself
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
