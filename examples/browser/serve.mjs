// Serves index.html and the SDK's browser build from the installed package. See README.md.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const bundle = createRequire(import.meta.url).resolve('@flagstream/sdk/browser');
const files = {
  '/': ['index.html', 'text/html; charset=utf-8', path.join(here, 'index.html')],
  '/flagstream-client.min.js': ['bundle', 'text/javascript; charset=utf-8', bundle],
};

const server = http.createServer(async (req, res) => {
  const file = files[new URL(req.url ?? '/', 'http://localhost').pathname];
  if (!file) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'no-store' });
  res.end(await readFile(file[2]));
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => console.log(`open http://127.0.0.1:${server.address().port}/?key=<client key>&gateway=<gateway url>`));
