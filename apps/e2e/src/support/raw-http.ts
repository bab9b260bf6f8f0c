import net from 'node:net';

export interface RawRequest {
  method: string;
  /** Sent byte for byte (latin1): may hold what a well-behaved client would never send. */
  path: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * One HTTP/1.1 request written to a plain TCP socket, so a fuzzer can send what fetch and
 * http.request refuse to (control bytes in the path, odd header values, bodies in any encoding).
 * Content-Length is always right and the connection closes after the answer. Status 0 means the
 * server closed the connection without any answer.
 */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : (request.body ?? Buffer.alloc(0));
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${body.length}`, 'Connection: close', '', '');
  const head = Buffer.from(lines.join('\r\n'), 'latin1');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${JSON.stringify(request.path)}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const headers = (split === -1 ? raw : raw.subarray(0, split)).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1] ?? 0);
      resolve({ status, headers, body: split === -1 ? '' : decodeChunked(headers, raw.subarray(split + 4)).toString('utf8') });
    });
    socket.write(Buffer.concat([head, body]));
  });
}

function decodeChunked(headers: string, body: Buffer): Buffer {
  if (!/transfer-encoding:\s*chunked/i.test(headers)) return body;
  const parts: Buffer[] = [];
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line === -1) break;
    const size = parseInt(rest.subarray(0, line).toString('latin1'), 16);
    if (!size) break;
    parts.push(rest.subarray(line + 2, line + 2 + size));
    rest = rest.subarray(line + 2 + size + 2);
  }
  return Buffer.concat(parts);
}
