import type { IncomingMessage, ServerResponse } from 'node:http';

/** A body-parser style failure (`status` + `type`), rendered by the app's exception filter. */
export interface BodyReadError extends Error {
  status: number;
  type: string;
  limit?: number;
}

const failures = new WeakMap<IncomingMessage, BodyReadError>();

/**
 * The JSON body of `POST /sdk/v1/events`, which may be larger than the gateway's other bodies.
 * It runs ahead of the shared body parser (which then leaves the finished request alone) and
 * never fails the request itself: a failure is kept for the route to throw (`bodyReadFailure`),
 * so that the answer goes through the usual request logging, request id and error body.
 */
export function eventsBodyReader(limitBytes: number) {
  return (req: IncomingMessage & { body?: unknown }, _res: ServerResponse, proceed: () => void): void => {
    if (req.method !== 'POST' || !isJson(req.headers['content-type'])) return proceed();
    let done = false;
    const next = () => {
      if (done) return;
      done = true;
      proceed();
    };
    const fail = (error: BodyReadError) => {
      failures.set(req, error);
      // Read the rest and discard it, so the connection stays usable for the answer.
      req.resume();
      if (req.complete) next();
      else req.once('end', () => next()).once('error', () => next());
    };
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return fail(bodyError(415, 'charset.unsupported', `unsupported charset "${charset.toUpperCase()}"`));
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') return fail(bodyError(415, 'encoding.unsupported', `unsupported content encoding "${encoding}"`));
    const declared = Number(req.headers['content-length']);
    if (declared > limitBytes) return fail(tooLarge(limitBytes));

    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off('data', onData).off('end', onEnd);
        chunks.length = 0;
        fail(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      req.off('data', onData);
      const text = Buffer.concat(chunks, size).toString('utf8');
      try {
        req.body = JSON.parse(text) as unknown;
      } catch (e) {
        failures.set(req, bodyError(400, 'entity.parse.failed', (e as Error).message));
      }
      next();
    };
    req.on('data', onData).once('end', onEnd).once('error', () => {
      req.off('data', onData).off('end', onEnd);
      failures.set(req, bodyError(400, 'request.aborted', 'request aborted'));
      next();
    });
  };
}

/** Throws the failure of reading this request's body, if there was one. */
export function throwBodyReadFailure(req: IncomingMessage): void {
  const failure = failures.get(req);
  if (failure) throw failure;
}

function isJson(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || (type?.endsWith('+json') ?? false);
}

function tooLarge(limit: number): BodyReadError {
  return Object.assign(bodyError(413, 'entity.too.large', 'request entity too large'), { limit });
}

function bodyError(status: number, type: string, message: string): BodyReadError {
  return Object.assign(new Error(message), { status, type });
}
