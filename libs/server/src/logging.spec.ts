import { Writable } from 'node:stream';
import { createLogger, redactUrl } from './logging';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { lines, stream };
}

describe('logging', () => {
  it('writes JSON lines with the app name and redacts credentials', () => {
    const { lines, stream } = capture();
    const logger = createLogger('admin', 'info', stream);
    logger.info({ req: { headers: { authorization: 'Bearer fs_admin_secret', 'x-request-id': 'r1' } }, body: { token: 'fs_admin_x', name: 'ci' } }, 'hello');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(line).toMatchObject({ app: 'admin', msg: 'hello', req: { headers: { authorization: '[REDACTED]', 'x-request-id': 'r1' } }, body: { token: '[REDACTED]', name: 'ci' } });
    expect(lines[0]).not.toContain('fs_admin_secret');
    expect(lines[0]).not.toContain('fs_admin_x');
  });

  it('strips keys from query strings', () => {
    expect(redactUrl('/sdk/v1/stream?key=fs_client_abc&x=1')).toBe('/sdk/v1/stream?key=[REDACTED]&x=1');
    expect(redactUrl('/a?x=1&token=t')).toBe('/a?x=1&token=[REDACTED]');
  });
});
